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
  line, where any local user can read it, and is taken only from an `Authorization: Bearer`
  header, compared in constant time. Rasa reads it from `?token=` (compared with ==), where it
  lands in access logs and proxies' histories: a request with `token` in its query is refused.
- Rasa's structlog fields that carry conversation content (what customers and the bot said,
  slot values, entities, events: Rasa's own list, which only Rasa Pro anonymises) are withheld
  from every log line, at every level; the redacting runner masks the rest.
- Request bodies are capped (Rasa's Sanic accepts 100 MB, its websockets 1 MB), and every
  response carries the web app's security headers; conversations are never cached.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sys
from collections.abc import Callable
from functools import cache, wraps
from http import HTTPStatus
from inspect import isawaitable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import rasa.core.lock_store
import rasa.core.run
import rasa.server
import rasa.utils.log_utils
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
from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse
from sanic.response import json as json_response

from assistant import faults
from assistant.channels import MAX_CHANNEL_BODY_BYTES
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


# The largest request the Rasa server reads (Sanic's default: 100 MB): the HTTP API's biggest
# is an agent message of 2000 characters. The customer channels cap theirs lower.
MAX_REQUEST_BYTES = 64 * 1024
# The web app's headers (supportbot/web/app.py); Rasa serves no page, so nothing may load.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Responses that carry a conversation (transcripts, the bot's replies with invoices in them).
_PERSONAL_PATHS = ("/conversations/", "/webhooks/rest/")

# rasa/utils/log_utils.py, `_anonymizer`: the structlog fields Rasa Pro anonymises.
CONVERSATION_LOG_FIELDS = frozenset(
    {
        *("text", "response_text", "user_text", "slot_values", "parse_data_text"),
        *("parse_data_entities", "prediction_events", "tracker_latest_message"),
        *("prefilled_slots", "message", "response", "slot_candidates", "rasa_event"),
        *("rasa_events", "tracker_states", "current_states", "old_states", "successes"),
        *("current_entity", "next_entity", "states", "entity", "token_text", "user_message"),
        "json_message",
    }
)
WITHHELD = "<withheld>"


def withhold_conversation_fields(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The structlog processor in the place of Rasa's anonymizer: the fields are not logged."""
    for key in CONVERSATION_LOG_FIELDS.intersection(event_dict):
        event_dict[key] = WITHHELD
    return event_dict


_rasa_requires_auth = rasa.server.requires_auth
_rasa_configure_app = rasa.core.run.configure_app


def _not_authenticated() -> rasa.server.ErrorResponse:
    return rasa.server.ErrorResponse(
        HTTPStatus.UNAUTHORIZED,
        "NotAuthenticated",
        "User is not authenticated.",
        help_url=rasa.server._docs("/user-guide/configuring-http-api/#security-considerations"),
    )


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def requires_auth(app: Sanic, token: str | None = None) -> Callable[[Any], Any]:
    """Rasa's `requires_auth`, the static token read from `Authorization: Bearer` (constant
    time) instead of `?token=`. Without a token, Rasa's own (JWT, or no authentication)."""
    if token is None:
        return _rasa_requires_auth(app, None)
    expected = token.encode()

    def decorator(f: Any) -> Any:
        by_jwt = _rasa_requires_auth(app, None)(f)

        @wraps(f)
        async def decorated(request: Request, *args: Any, **kwargs: Any) -> Any:
            given = _bearer_token(request)
            if given is not None and hmac.compare_digest(given.encode(), expected):
                result = f(request, *args, **kwargs)
                return await result if isawaitable(result) else result
            if app.config.get("USE_JWT"):
                return await by_jwt(request, *args, **kwargs)
            raise _not_authenticated()

        return decorated

    return decorator


async def refuse_token_in_query(request: Request) -> HTTPResponse | None:
    """A token in a URL is written down everywhere the URL goes: refused, whatever it is."""
    names = {name for name, _ in parse_qsl(request.query_string, keep_blank_values=True)}
    if "token" in names:
        return json_response(
            {"error": "Send the API token in an Authorization: Bearer header, not the URL."},
            status=401,
        )
    return None


async def add_security_headers(request: Request, response: BaseHTTPResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(_PERSONAL_PATHS):
        response.headers["Cache-Control"] = "no-store"


def harden(app: Sanic) -> Sanic:
    """Caps, the token check on the query and the security headers, on Rasa's app."""
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    app.config.WEBSOCKET_MAX_SIZE = MAX_CHANNEL_BODY_BYTES
    app.register_middleware(refuse_token_in_query, "request")
    app.register_middleware(add_security_headers, "response")
    return app


def configure_app(*args: Any, **kwargs: Any) -> Sanic:
    """Rasa's app (`rasa.core.run.configure_app`), hardened."""
    return harden(_rasa_configure_app(*args, **kwargs))


def install() -> None:
    """Put the fixes in place; before Rasa loads anything."""
    # Both looked up by name when Rasa builds its app (serve_application, create_app).
    rasa.server.requires_auth = requires_auth
    rasa.core.run.configure_app = configure_app
    EndpointConfig.session = shared_session
    # Rasa's factory looks the class up by this name when endpoints.yml says `type: redis`.
    rasa.core.lock_store.RedisLockStore = AtomicRedisLockStore
    RemoteAction._validate_action_result = validate_action_result
    RasaModel.load = classmethod(load_trained_model)
    # Looked up by name when `rasa run` configures structlog.
    rasa.utils.log_utils._anonymizer = withhold_conversation_fields
    faults.install()  # a failing action server or tracker store: an answer, not silence


def main() -> None:
    # The tracker store's SQLite file (every conversation) is this user's only.
    os.umask(0o077)
    install()
    token = api_token()
    if token and sys.argv[1:2] == ["run"] and "--auth-token" not in sys.argv:
        # Added after exec: /proc/<pid>/cmdline still shows the command without it.
        sys.argv += ["--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
