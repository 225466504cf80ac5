"""Parse test messages with a trained Rasa NLU model, one at a time. Runs in .venv-rasa only.

    python -m lab.nlu_bench.evaluate --model M.tar.gz --input cases.json --output preds.json
    python -m lab.nlu_bench.evaluate --model M.tar.gz --nlu test.yml --output results.json \
        [--nlu other.yml --output other.json ...]

With `--nlu` the gold cases come from a Rasa NLU file (read by Rasa itself) and are written to
the output beside the predictions, for `supportbot-lab nlu-report` to score. Several `--nlu`
files, each with its `--output` in the same order, share one model load (about 20 s each).
Imports nothing but the standard library and rasa, so it works in the Rasa environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

WARM_UP = 3  # first parses build TensorFlow graphs: not timed


def _prediction(parsed: dict[str, Any], seconds: float) -> dict[str, Any]:
    intent = parsed.get("intent") or {}
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    return {
        "intent": intent.get("name"),
        "confidence": float(intent.get("confidence") or 0.0),
        # The classifier's own best guess when FallbackClassifier overrode it.
        "top_intent": ranking[0]["name"] if ranking else intent.get("name"),
        # ... and its confidence, from which any other fallback threshold can be replayed.
        "top_confidence": float(ranking[0].get("confidence") or 0.0)
        if ranking
        else float(intent.get("confidence") or 0.0),
        "entities": [
            {
                "start": e.get("start"),
                "end": e.get("end"),
                "entity": e.get("entity"),
                "value": str(e.get("value")),
            }
            for e in parsed.get("entities") or []
        ],
        "ms": seconds * 1000.0,
    }


async def _run(model: str, batches: list[list[str]]) -> tuple[float, list[list[dict[str, Any]]]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Otherwise structlog prints every parse at debug level.
    configure_structlog(logging.WARNING)
    started = time.perf_counter()
    agent = Agent.load(model)
    load_seconds = time.perf_counter() - started
    for text in batches[0][:WARM_UP]:
        await agent.parse_message(text)
    results = []
    for texts in batches:
        predictions = []
        for text in texts:
            began = time.perf_counter()
            parsed = await agent.parse_message(text)
            predictions.append(_prediction(parsed, time.perf_counter() - began))
        results.append(predictions)
    return load_seconds, results


def gold_cases(nlu_file: str) -> list[dict[str, Any]]:
    """The examples of a Rasa NLU file with their intent and entity spans, as Rasa reads them."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [
        {
            "text": message.get("text"),
            "intent": message.get("intent"),
            "entities": [
                {k: e.get(k) for k in ("start", "end", "entity", "value")}
                for e in message.get("entities") or []
            ],
        }
        for message in load_data(nlu_file).intent_examples
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.nlu_bench.evaluate")
    parser.add_argument("--model", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="JSON list of {text, ...}")
    source.add_argument(
        "--nlu", action="append", help="a Rasa NLU file: its gold cases go into its output"
    )
    parser.add_argument("--output", action="append", required=True, help="one per input")
    args = parser.parse_args(argv)
    if args.nlu:
        if len(args.nlu) != len(args.output):
            parser.error("give one --output for each --nlu file, in the same order")
        sources = list(args.nlu)
        all_cases: list[list[dict[str, Any]] | None] = [gold_cases(path) for path in sources]
        batches = [[str(case["text"]) for case in cases or []] for cases in all_cases]
    else:
        if len(args.output) != 1:
            parser.error("--input takes one --output")
        sources = [args.input]
        all_cases = [None]
        with open(args.input, encoding="utf-8") as handle:
            batches = [[case["text"] for case in json.load(handle)]]
    for source_path, texts in zip(sources, batches, strict=True):
        if not texts:
            parser.error(f"no messages in {source_path}")
    load_seconds, results = asyncio.run(_run(args.model, batches))
    for output_path, cases, predictions in zip(args.output, all_cases, results, strict=True):
        output: dict[str, Any] = {"load_seconds": load_seconds, "predictions": predictions}
        if cases is not None:
            output["cases"] = cases
        with open(output_path, "w", encoding="utf-8") as handle:
            json.dump(output, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
