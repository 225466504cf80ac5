"""The web app factory: pages, the widget's chat API and the agent console, with safe
defaults; and the one place where errors become JSON: bad input 422, queue refusals, the CRM store
or Rasa out of reach 503 (routes get their transaction and guards from dependencies.py). Around
it: body caps (413) and security headers (middleware.py); rate limits (429) are dependencies of
the routes they guard (rate_limits.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from supportbot.console import takeover
from supportbot.console.conversations import ConversationNotFound, InvalidInput
from supportbot.rasa_client import RasaClient, RasaRequestError, RasaUnavailable
from supportbot.settings import Settings, get_settings
from supportbot.web import (
    admin_api,
    chat_api,
    console_api,
    console_pages,
    pages,
    readiness,
    takeover_api,
)
from supportbot.web.middleware import BodySizeLimit, SecurityHeaders
from supportbot.web.rate_limits import RateLimiter

logger = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")

# How the takeover queue's refusals answer; each message is safe to show an agent.
QUEUE_REFUSALS: dict[type[takeover.TakeoverError], int] = {
    takeover.NotInQueue: 404,
    takeover.NotWaiting: 404,
    takeover.AlreadyClaimed: 409,
    takeover.NotClaimed: 409,
    takeover.NotYourClaim: 403,
}


def content_security_policy(socket_url: str) -> str:
    """Only our own scripts, styles and API, plus Rasa's socket.io channel; no framing."""
    socket_ws = "ws" + socket_url.removeprefix("http")  # http -> ws, https -> wss
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {socket_url} {socket_ws}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def create_app(settings: Settings | None = None, rasa: RasaClient | None = None) -> FastAPI:
    """The ASGI app. `rasa` can be injected (tests); by default it talks to settings.rasa_url."""
    settings = settings or get_settings()
    session_secret = settings.require("session_secret")
    pages.check_demo_pages_allowed(settings)
    settings.require("audit_secret")  # refused logins are audited under its keyed hashes
    app = FastAPI(title="supportbot", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.rasa = rasa or RasaClient(
        settings.rasa_url, settings.rasa_api_token, session_secret=session_secret
    )
    guards = settings.web_guards
    app.state.rate_limiter = RateLimiter(guards, session_secret)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
            for e in error.errors()
        )
        return JSONResponse({"error": f"Invalid request: {problems}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RasaUnavailable)
    async def rasa_down(request: Request, error: RasaUnavailable) -> JSONResponse:
        logger.warning("Rasa unavailable: %s", error)
        return JSONResponse(
            {"error": "The assistant is not available right now. Please try again in a moment."},
            status_code=503,
        )

    @app.exception_handler(RasaRequestError)
    async def rasa_refused(request: Request, error: RasaRequestError) -> JSONResponse:
        logger.warning("Rasa refused a request: %s", error)
        return JSONResponse({"error": "The assistant could not handle that."}, status_code=502)

    @app.exception_handler(SQLAlchemyError)
    async def store_down(request: Request, error: SQLAlchemyError) -> JSONResponse:
        # The type only: a database error's text can carry the statement and its parameters.
        logger.error("the CRM store failed: %s", type(error).__name__)
        return JSONResponse({"error": "the CRM store is unavailable"}, status_code=503)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
        return JSONResponse({"error": f"Invalid request: {error}"}, status_code=422)

    @app.exception_handler(ConversationNotFound)
    async def no_such_conversation(request: Request, error: ConversationNotFound) -> JSONResponse:
        return JSONResponse({"error": "no such conversation"}, status_code=404)

    @app.exception_handler(takeover.TakeoverError)
    async def queue_refusal(request: Request, error: takeover.TakeoverError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=QUEUE_REFUSALS[type(error)])

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(readiness.router)
    app.include_router(pages.router)
    app.include_router(chat_api.router)
    app.include_router(console_api.router)
    app.include_router(takeover_api.router)
    app.include_router(admin_api.router)
    app.include_router(console_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The last added runs first: the proxy's word on scheme and client, then the headers (on
    # a 413 too), then the body caps.
    app.add_middleware(
        BodySizeLimit,
        caps={"/api/chat/": guards.max_chat_body_bytes},
        default=guards.max_body_bytes,
    )
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings.chat_socket_url))
    if guards.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(guards.trusted_proxies))
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app (`supportbot web`)."""
    return {
        "host": settings.web_host,
        "port": settings.web_port,
        "log_level": settings.log_level.lower(),
        # The access log would record conversation ids next to client addresses.
        "access_log": False,
        # h11, not httptools: httptools read a 10 MB request head whole; h11 answers 400 once
        # an unfinished head passes this size (measured on loopback, where one read can bring
        # more: 120 KB still passed, 200 KB and 1 MB got 400).
        "http": "h11",
        "h11_max_incomplete_event_size": 16 * 1024,
        # Which proxies to believe is the app's setting (SUPPORTBOT_TRUSTED_PROXIES), not
        # uvicorn's default of trusting any local client's X-Forwarded-For.
        "proxy_headers": False,
        "server_header": False,
    }
