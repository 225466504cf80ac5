"""assistant.server: Rasa with the project's fixes, each behaving as Rasa's own code does."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import rasa.core.run
import rasa.server
import rasa.utils.log_utils
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic

from assistant import server
from assistant.channels import MAX_CHANNEL_BODY_BYTES, SignedRestInput
from tests.assistant.servers import serving

VALID = {"events": [{"event": "slot", "name": "sentiment", "value": None}], "responses": []}


@pytest.fixture(autouse=True)
def fixes() -> Any:
    originals = (
        RemoteAction._validate_action_result,
        EndpointConfig.session,
        rasa.server.requires_auth,
        rasa.core.run.configure_app,
        rasa.utils.log_utils._anonymizer,
    )
    server.install()
    yield
    (
        RemoteAction._validate_action_result,
        EndpointConfig.session,
        rasa.server.requires_auth,
        rasa.core.run.configure_app,
        rasa.utils.log_utils._anonymizer,
    ) = originals


def test_action_results_are_checked_against_rasas_schema():
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert action._validate_action_result(VALID) is True
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})


def test_calls_to_an_endpoint_reuse_one_connection():
    async def scenario() -> set[int]:
        peers: set[int] = set()

        async def answer(request: web.Request) -> web.Response:
            peers.add(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
            return web.json_response(VALID)

        app = web.Application()
        app.router.add_post("/webhook", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            for _ in range(5):
                assert await endpoint.request(json={"next_action": "action_x"}) == VALID
        finally:
            async with endpoint.session() as session:
                await session.close()
            await runner.cleanup()
        return peers

    # Rasa's own session would have made five connections, one a call.
    assert len(asyncio.run(scenario())) == 1


TOKEN = "rasa-api-token-for-tests-0123456789"
SECRET = "server-test-session-secret-0123456789"


@pytest.fixture
def rasa_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Rasa's own app with its HTTP API and the REST channel, built as `rasa run` builds it
    (rasa.core.run.configure_app, after `install()`): no model loaded."""
    monkeypatch.setenv("SUPPORTBOT_SESSION_SECRET", SECRET)
    monkeypatch.setattr(Sanic, "test_mode", True)
    return rasa.core.run.configure_app(
        input_channels=[SignedRestInput.from_credentials(None)],
        auth_token=TOKEN,
        enable_api=True,
    )


async def fetch(url: str, method: str = "GET", **kwargs: Any) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as client, client.request(method, url, **kwargs) as answer:
        await answer.read()
        return answer.status, dict(answer.headers)


def test_the_api_token_is_taken_only_from_a_bearer_header(rasa_app: Sanic) -> None:
    async def scenario() -> list[int]:
        async with serving(rasa_app) as url:
            tracker = f"{url}/conversations/{'a' * 32}/tracker"
            return [
                (await fetch(tracker))[0],
                (await fetch(tracker, params={"token": TOKEN}))[0],  # Rasa's way: refused
                (await fetch(tracker, headers={"Authorization": "Bearer wrong-token"}))[0],
                (await fetch(tracker, headers={"Authorization": f"Basic {TOKEN}"}))[0],
                (
                    await fetch(
                        tracker,
                        params={"token": TOKEN},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )
                )[0],
                # Past authentication: Rasa's own answer without a model.
                (await fetch(tracker, headers={"Authorization": f"Bearer {TOKEN}"}))[0],
            ]

    assert asyncio.run(scenario()) == [401, 401, 401, 401, 401, 409]


def test_every_response_carries_the_security_headers(rasa_app: Sanic) -> None:
    async def scenario() -> list[dict[str, str]]:
        async with serving(rasa_app) as url:
            return [
                (await fetch(f"{url}/"))[1],
                (await fetch(f"{url}/conversations/{'a' * 32}/tracker"))[1],
                (await fetch(f"{url}/webhooks/rest/webhook", "POST", data=b"{}"))[1],
            ]

    root, tracker, refused = asyncio.run(scenario())
    for headers in (root, tracker, refused):
        for name, value in server.SECURITY_HEADERS.items():
            assert headers[name] == value
    assert "Cache-Control" not in root
    assert tracker["Cache-Control"] == refused["Cache-Control"] == "no-store"


def test_request_bodies_are_capped(rasa_app: Sanic) -> None:
    async def scenario() -> int:
        async with serving(rasa_app) as url:
            status, _ = await fetch(
                f"{url}/conversations/{'a' * 32}/tracker/events",
                "POST",
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
                data=b"[" + b" " * server.MAX_REQUEST_BYTES + b"]",
            )
            return status

    assert asyncio.run(scenario()) == 413
    assert rasa_app.config.WEBSOCKET_MAX_SIZE == MAX_CHANNEL_BODY_BYTES


def test_rasas_structlog_lines_withhold_what_was_said_at_every_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    import structlog
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.DEBUG)  # as `rasa run --debug` does, after install()
    try:
        log = structlog.get_logger()
        with caplog.at_level(logging.DEBUG):
            # Rasa 3.6.21's REST channel when a reply times out; its processor at DEBUG.
            log.error("rest.message.received.timeout", text="card 4111 1111 1111 1111")
            log.debug("processor.extract.slots", rasa_events=[{"value": "ada@example.com"}])
            log.debug("processor.actions.log", action_name="action_listen")
    finally:
        structlog.reset_defaults()
    assert "rest.message.received.timeout" in caplog.text and server.WITHHELD in caplog.text
    assert "action_listen" in caplog.text  # what is not conversation content stays
    assert "4111" not in caplog.text and "ada@example.com" not in caplog.text
