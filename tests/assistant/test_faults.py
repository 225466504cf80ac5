"""assistant.faults: a bounded wait for the action server, and a tracker store that fails loudly.

The whole behaviour (the apology, the next turn, the web app's 503) is tested against the real
stack in tests/integration/test_faults.py; here the parts, against real servers and SQLite.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant import environment, faults
from common.erasure import ERASURE_ACTION

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]\n")
VALID = {"events": [], "responses": []}
Handler = Callable[[web.Request], Awaitable[web.Response]]


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "run", faults.run_remote_action)
    monkeypatch.setenv(environment.ACTION_TIMEOUT_VARIABLE, "0.5")


@asynccontextmanager
async def action_server(handler: Handler) -> AsyncIterator[tuple[EndpointConfig, list[str]]]:
    """A stand-in action server on a free port; yields its endpoint and the actions called."""
    called: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        called.append((await request.json())["next_action"])
        return await handler(request)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app, handler_cancellation=True)  # a hanging answer ends with its call
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield EndpointConfig(f"http://127.0.0.1:{port}/webhook"), called
    finally:
        await runner.cleanup()


async def call(endpoint: EndpointConfig, name: str = "action_track_order") -> list[Any]:
    tracker = DialogueStateTracker.from_events("it-faults-unit", [UserUttered("hi")])
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    action = RemoteAction(name, endpoint)
    return await action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN)


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.json_response(VALID)


def test_a_hanging_call_gives_up_after_the_timeout() -> None:
    async def scenario() -> float:
        async with action_server(hang) as (endpoint, _):
            started = time.monotonic()
            with pytest.raises(faults.ActionServerUnavailable, match=r"no answer within 0\.5 s"):
                await call(endpoint)
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 2


def test_the_erasure_may_take_longer_than_other_actions() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response(VALID)

    async def scenario() -> None:
        async with action_server(slow) as (endpoint, _):
            with pytest.raises(faults.ActionServerUnavailable):
                await call(endpoint)
            assert await call(endpoint, ERASURE_ACTION) == []

    asyncio.run(scenario())


def test_a_refused_connection_fails_at_once() -> None:
    async def scenario() -> None:
        async with action_server(hang) as (endpoint, _):
            pass  # stopped again: nothing listens on its port now
        with pytest.raises(faults.ActionServerUnavailable, match="Couldn't connect"):
            await call(endpoint)

    asyncio.run(scenario())


def test_an_error_answer_fails_too() -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": "internal server error"}, status=500)

    async def scenario() -> None:
        async with action_server(broken) as (endpoint, _):
            with pytest.raises(faults.ActionServerUnavailable):
                await call(endpoint)

    asyncio.run(scenario())


def test_a_forms_rejection_is_not_a_failure() -> None:
    async def reject(request: web.Request) -> web.Response:
        body = {"error": "nothing extracted", "action_name": "validate_track_order_form"}
        return web.json_response(body, status=400)

    async def scenario() -> None:
        async with action_server(reject) as (endpoint, _):
            with pytest.raises(ActionExecutionRejection):
                await call(endpoint, "validate_track_order_form")

    asyncio.run(scenario())


def test_after_a_failure_the_turns_other_calls_fail_without_waiting() -> None:
    async def scenario() -> tuple[list[str], float, bool]:
        token = faults._turn.set(faults._Turn())
        try:
            async with action_server(hang) as (endpoint, called):
                with pytest.raises(faults.ActionServerUnavailable):
                    await call(endpoint, "action_analyse_message")
                started = time.monotonic()
                with pytest.raises(faults.ActionServerUnavailable, match="skipped"):
                    await call(endpoint, "action_track_order")
                skipped_after = time.monotonic() - started
            turn = faults._turn.get()
            return called, skipped_after, turn is not None and turn.action_server_failed
        finally:
            faults._turn.reset(token)

    called, skipped_after, failed = asyncio.run(scenario())
    assert called == ["action_analyse_message"]
    assert skipped_after < 0.1
    assert failed


def test_the_next_turn_tries_the_server_again() -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(VALID)

    async def scenario() -> list[str]:
        async with action_server(answer) as (endpoint, called):
            faults._turn.set(faults._Turn())  # what handle_message does for each message
            assert await call(endpoint) == []
            return called

    assert asyncio.run(scenario()) == ["action_track_order"]


def test_the_timeout_setting() -> None:
    variable = environment.ACTION_TIMEOUT_VARIABLE
    with pytest.MonkeyPatch.context() as env:
        for raw, seconds in [("", 3.0), ("2.5", 2.5), ("nonsense", 3.0), ("0", 3.0), ("900", 3.0)]:
            env.setenv(variable, raw)
            assert environment.action_timeout() == seconds


def sqlite_store(path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))


def break_database(path: Path) -> None:
    """SQLite cannot open a directory (taking permissions away would not stop root)."""
    path.rename(path.with_suffix(".aside"))
    path.mkdir()


def test_a_failing_store_raises_where_rasa_would_start_a_new_conversation(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    store = sqlite_store(database)
    tracker = DialogueStateTracker.from_events("it-faults-unit", [UserUttered("hi")])
    asyncio.run(store.save(tracker))
    break_database(database)

    # Rasa's wrapper: no tracker, so the message would start a new, empty conversation.
    assert asyncio.run(FailSafeTrackerStore(store).retrieve("it-faults-unit")) is None
    loud = faults.LoudTrackerStore(store)
    for operation in (
        loud.retrieve("it-faults-unit"),
        loud.retrieve_full_tracker("it-faults-unit"),
        loud.save(tracker),
        loud.keys(),
    ):
        with pytest.raises(faults.TrackerStoreUnavailable) as raised:
            asyncio.run(operation)  # type: ignore[arg-type]
        # Not chained: a failed INSERT's message carries what the customer said.
        assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_agent_gets_the_loud_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for cls, name in [(Agent, "_create_tracker_store"), (MessageProcessor, "_run_action")]:
        monkeypatch.setattr(cls, name, cls.__dict__[name])  # put back after the test
    monkeypatch.setattr(MessageProcessor, "handle_message", MessageProcessor.handle_message)
    faults.install()

    store = Agent._create_tracker_store(sqlite_store(tmp_path / "tracker.db"), DOMAIN)
    assert isinstance(store, faults.LoudTrackerStore)
