"""assistant.server: Rasa with the project's fixes, each behaving as Rasa's own code does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from assistant import server

VALID = {"events": [{"event": "slot", "name": "sentiment", "value": None}], "responses": []}


@pytest.fixture(autouse=True)
def fixes() -> Any:
    originals = (RemoteAction._validate_action_result, EndpointConfig.session)
    server.install()
    yield
    RemoteAction._validate_action_result, EndpointConfig.session = originals


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
