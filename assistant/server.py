"""The Rasa server as the project runs it: Rasa 3.6.21's own `rasa run`, with measured fixes.

`python -m assistant.server run ...` takes `rasa run`'s arguments.

- Each action server response is checked against Rasa's response schema by a validator built
  once. Rasa calls `jsonschema.validate()`, which checks the schema itself again on every call
  (jsonschema 4.17, the newest Rasa 3.6 allows): under load that was the largest single cost in
  the Rasa process (reports/load.md). Same schema, same errors, same message.
- The DIET entity extractor gets its weights' shapes from one eager training step instead of a
  traced one. Rasa builds each TensorFlow model by fitting it on one example before it loads the
  trained weights; tracing that training graph, used once and thrown away, took 19 of the 34
  seconds Rasa needed to start. An eager step builds only the layers it runs, so the model is
  kept only if every variable got its trained value and predicting built no new one; else
  Rasa's own load runs. Other models (TED, if configured) load as Rasa loads them: TED built
  eagerly came out without its weights. tests/integration/test_model_load.py compares the
  trained model's weights and parses with Rasa's own load.
- Calls to the action server reuse their connections. Rasa opens a new HTTP client session, and
  so a new TCP connection, for every action it runs on the action server (several a message).
- `LOCK_STORE_TYPE=redis` gets a lock that is atomic across workers (assistant/lock_store.py):
  Rasa's lets two workers handle one customer's messages at once.
- The HTTP API's token comes from the environment ($SUPPORTBOT_RASA_TOKEN), never the command
  line, where any local user can read it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from functools import cache
from typing import Any

import aiohttp
import rasa.core.lock_store
import tensorflow as tf
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from assistant import faults
from assistant.environment import api_token
from assistant.lock_store import AtomicRedisLockStore

logger = logging.getLogger(__name__)

# Rasa's own wording (rasa/core/actions/action.py, RemoteAction._validate_action_result).
_INVALID_RESPONSE_NOTE = (
    ". Failed to validate Action server response from API, make sure your response from the "
    "Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@cache
def _action_result_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(_: RemoteAction, result: dict[str, Any]) -> bool:
    """What `jsonschema.validate(result, schema)` does, without re-checking the schema."""
    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += _INVALID_RESPONSE_NOTE
        raise error
    return True


_rasa_load = RasaModel.load.__func__


def load_trained_model(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load`, building the weights with one eager step when that restores them all."""
    if finetune_mode or predict_data_example is None or not issubclass(cls, DIET):
        return _rasa_load(
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    optimizer = tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001))
    model.compile(optimizer=optimizer, run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    restored = model.load_weights(model_file_name)
    built = {id(variable) for variable in model.variables}
    # Predictions run as a traced graph again, as configured (Rasa's default: not eagerly).
    model.run_eagerly = bool(config.get(RUN_EAGERLY, False))
    model.run_inference(predict_data_example)  # traces the prediction graph now, not later
    try:
        restored.assert_existing_objects_matched()
        complete = all(id(variable) in built for variable in model.variables)
    except AssertionError:
        complete = False
    if complete:
        return model
    logger.info("%s: loading as Rasa does (its prediction needs layers built by tracing)", cls)
    return _rasa_load(
        cls, model_file_name, model_data_example, predict_data_example, False, *args, **kwargs
    )


class _SharedSession:
    """What `async with endpoint.session()` gets: one client session per endpoint and event
    loop, kept open (Rasa's own closes its session, and its connections, after each request)."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self._endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        sessions: dict[int, aiohttp.ClientSession] = self._endpoint.__dict__.setdefault(
            "_supportbot_sessions", {}
        )
        loop = id(asyncio.get_running_loop())
        session = sessions.get(loop)
        if session is None or session.closed:
            session = sessions[loop] = _rasa_session(self._endpoint)
        return session

    async def __aexit__(self, *_: object) -> None:
        return None


_rasa_session = EndpointConfig.session


def shared_session(endpoint: EndpointConfig) -> _SharedSession:
    return _SharedSession(endpoint)


def install() -> None:
    """Put the fixes in place; before Rasa loads anything."""
    EndpointConfig.session = shared_session
    # Rasa's factory looks the class up by this name when endpoints.yml says `type: redis`.
    rasa.core.lock_store.RedisLockStore = AtomicRedisLockStore
    RemoteAction._validate_action_result = validate_action_result
    RasaModel.load = classmethod(load_trained_model)
    faults.install()  # a failing action server or tracker store: an answer, not silence


def main() -> None:
    install()
    token = api_token()
    if token and sys.argv[1:2] == ["run"] and "--auth-token" not in sys.argv:
        # Added after exec: /proc/<pid>/cmdline still shows the command without it.
        sys.argv += ["--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
