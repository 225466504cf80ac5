"""Run by tests/integration/test_model_load.py in Rasa's environment: load the trained model as
Rasa does, then as assistant.server does, and print whether every TensorFlow variable and every
parse of the given messages came out the same."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import numpy as np
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from assistant import server


def weights(agent: Agent) -> list[np.ndarray]:
    found = []
    for node in agent.processor.graph_runner._instantiated_nodes.values():  # type: ignore[union-attr]
        model = getattr(node._component, "model", None)
        if isinstance(model, RasaModel):
            found += [variable.numpy() for variable in model.variables]
    return found


async def parses(agent: Agent, texts: list[str]) -> list[dict[str, Any]]:
    return [await agent.parse_message(text) for text in texts]


def main() -> None:
    model, texts = sys.argv[1], json.loads(sys.argv[2])
    rasas = Agent.load(model)
    server.install()
    ours = Agent.load(model)
    a, b = weights(rasas), weights(ours)
    same_weights = len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True)
    )
    pa, pb = asyncio.run(parses(rasas, texts)), asyncio.run(parses(ours, texts))
    print(json.dumps({"variables": len(a), "same_weights": same_weights, "same_parses": pa == pb}))


if __name__ == "__main__":
    main()
