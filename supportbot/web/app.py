"""The web app factory: pages, the widget's chat API, the agent API and the console, with safe
defaults; and the one place where errors become JSON: bad input 422, queue refusals, the CRM store
or Rasa out of reach 503 (routes get their transaction and guards from dependencies.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportbot.console import takeover
from supportbot.console.conversations import ConversationNotFound, InvalidInput
from supportbot.rasa_client import RasaClient, RasaRequestError, RasaUnavailable
from supportbot.settings import Settings, get_settings
from supportbot.web import agent_api, chat_api, console_api, console_pages, pages, takeover_api

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


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", self.policy),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, rasa: RasaClient | None = None) -> FastAPI:
    """The ASGI app. `rasa` can be injected (tests); by default it talks to settings.rasa_url."""
    settings = settings or get_settings()
    settings.require("session_secret")
    app = FastAPI(title="supportbot", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.rasa = rasa or RasaClient(
        settings.rasa_url, settings.rasa_api_token, session_secret=settings.session_secret
    )

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

    app.include_router(pages.router)
    app.include_router(chat_api.router)
    app.include_router(agent_api.router)
    app.include_router(console_api.router)
    app.include_router(takeover_api.router)
    app.include_router(console_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings.chat_socket_url))
    return app
