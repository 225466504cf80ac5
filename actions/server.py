"""The action server as the project runs it: rasa-sdk's own app, locked down.

`python -m actions.server [--port N]` replaces `python -m rasa_sdk --actions actions`:

- It listens on SUPPORTBOT_ACTION_HOST, by default 127.0.0.1 (rasa-sdk's listens on 0.0.0.0).
- Every request but the health check must carry the shared secret SUPPORTBOT_ACTION_SECRET as
  `Authorization: Bearer <secret>` (Rasa sends it from endpoints.yml), compared in constant
  time; anything else gets 401, the list of actions and unknown paths included. Without the
  secret anyone who reaches the port could run any action with a forged tracker.
- Error bodies name the status only: rasa-sdk's handler answered a 500 with the whole request
  body, and a 404 with the path.
- No CORS (only Rasa calls it, never a browser) and no access log (it would name clients).
- Each worker loads the sentiment model and the knowledge base's passage vectors before it
  answers: the first customer would otherwise wait for them (0.75 s and 3.2 s here), beyond
  Rasa's action timeout (SUPPORTBOT_ACTION_TIMEOUT), and get an apology instead of an answer.
  So does the PII detector (next point): Rasa would otherwise store the first turns withheld.
  This takes 10-40 s on a busy machine; Sanic's limit for a worker's start is raised from 30 s
  to STARTUP_LIMIT_SECONDS, because past it Sanic SIGKILLs the server's whole process group
  (the launcher, or the test run that started it).
- POST /privacy/redact (`{"texts": [...]}` -> `{"texts": [...]}`) masks the personal data of
  the types SUPPORTBOT_REDACT_ENTITIES names: Rasa's tracker store (Python 3.10, where Presidio
  does not install) calls it before it writes a turn (assistant/transcript_redaction.py).

It lives in `actions/` because it is the action package's process: `supportbot` must not import
`actions`, and the launcher only names this module on a command line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http import HTTPStatus

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.utils import number_of_sanic_workers
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader
from sanic.worker.manager import WorkerManager

from supportbot.crm.stored_text import masked
from supportbot.settings import Settings, get_settings

# By name: run as `-m`, and re-imported in each Sanic worker, __name__ is not the module's.
logger = logging.getLogger("actions.server")

ACTION_PACKAGE = "actions"
HEALTH_PATH = "/health"
REDACT_PATH = "/privacy/redact"
# Rasa's requests carry the tracker (cut to its recent events) and the domain: well under this.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# How long a worker may take to load its models before Sanic gives up on it (see above).
STARTUP_LIMIT_SECONDS = 180
# Run before rasa-sdk's own middleware (CORS), so nothing answers a caller without the secret.
_FIRST = 1000


def create_locked_app(secret: str, package: str = ACTION_PACKAGE) -> Sanic:
    """rasa-sdk's app for `package`, answering only requests that carry `secret`."""
    executor = ActionExecutor()
    executor.register_package(package)
    app = create_app(executor, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    app.on_request(partial(_require_secret, _digest(f"Bearer {secret}")), priority=_FIRST)
    # Replaces rasa-sdk's handler for every exception (Sanic refuses a second registration).
    app.error_handler.cached_handlers[(Exception, None)] = _generic_error
    app.add_route(_redact, REDACT_PATH, methods=["POST"])
    app.before_server_start(_warm_up)
    return app


async def _warm_up(app: Sanic) -> None:
    await asyncio.to_thread(load_models)


def load_models() -> None:
    """Load and run once what actions use on a customer's first message; a failure (the CRM
    not reachable yet) is logged and left to the first message, as before."""
    from supportbot.escalation import get_escalation_model
    from supportbot.kb import get_knowledge_base
    from supportbot.sentiment import get_sentiment_model

    try:
        masked("call me on 0123 456789")  # the configured types: spaCy only for names, addresses
        get_sentiment_model().analyse(["hello"])
        get_escalation_model()
        get_knowledge_base().answer("how do I return an item?")
    except Exception as error:  # the server must still start: readiness names a missing store
        logger.warning("Could not load the models ahead of time: %s", type(error).__name__)


# Masking threads of their own: in the default pool a turn's masking queued behind actions'
# CRM, sentiment and retrieval work, and under load (50 customers) took over Rasa's limit, so
# customer text was withheld from the transcript. A call is about a millisecond of CPU.
_MASKING_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="masking")


async def _redact(request: Request) -> HTTPResponse:
    """The texts with the stored types of personal data masked, in the order given."""
    body = request.json if request.body else None
    texts = body.get("texts") if isinstance(body, dict) else None
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        return response.json({"error": 'expected {"texts": [strings]}'}, status=400)
    masked_texts = await asyncio.get_running_loop().run_in_executor(
        _MASKING_THREADS, lambda: [masked(text) for text in texts]
    )
    return response.json({"texts": masked_texts})


async def _require_secret(expected: bytes, request: Request) -> HTTPResponse | None:
    if request.path == HEALTH_PATH and request.method in {"GET", "HEAD"}:
        return None
    if hmac.compare_digest(_digest(request.headers.get("authorization", "")), expected):
        return None
    logger.warning("Refused a request without the action server's secret")
    return response.json(
        {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _digest(credential: str) -> bytes:
    # Compared as digests, so that the time taken says nothing about the secret's length either.
    return hashlib.sha256(credential.encode("utf-8", "replace")).digest()


async def _generic_error(request: Request, exception: Exception) -> HTTPResponse:
    status = exception.status_code if isinstance(exception, SanicException) else 500
    if status >= 500:
        # The type only: an exception's text can carry the customer's data.
        logger.error("Action server error: %s", type(exception).__name__)
    return response.json({"error": HTTPStatus(status).phrase.lower()}, status=status)


def _app_for_worker(package: str) -> Sanic:
    # Each Sanic worker process builds its own app; the secret comes from its environment.
    settings = get_settings()
    _configure_logging(settings)
    return create_locked_app(settings.require("action_server_secret"), package)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def serve(settings: Settings, port: int, workers: int) -> None:
    """Run the locked-down server until stopped, with `workers` Sanic worker processes."""
    settings.require("action_server_secret")  # refuse to start without it
    WorkerManager.THRESHOLD = STARTUP_LIMIT_SECONDS * 10  # counted in tenths of a second
    loader = AppLoader(factory=partial(_app_for_worker, ACTION_PACKAGE))
    app = loader.load()
    logger.info("Action server on %s:%d", settings.action_server_host, port)
    app.prepare(
        host=settings.action_server_host,
        port=port,
        workers=workers,
        access_log=False,
        motd=False,
    )
    Sanic.serve(primary=app, app_loader=loader)


def main() -> None:
    # What the actions create (a SQLite CRM, the review file) is this user's only.
    os.umask(0o077)
    settings = get_settings()
    parser = argparse.ArgumentParser(description="the project's locked-down action server")
    parser.add_argument("--port", type=int, default=settings.action_server_port)
    args = parser.parse_args()
    _configure_logging(settings)
    # rasa-sdk's variable (ACTION_SERVER_SANIC_WORKERS), as the launcher and deploy/ set it.
    serve(settings, args.port, number_of_sanic_workers())


if __name__ == "__main__":
    main()
