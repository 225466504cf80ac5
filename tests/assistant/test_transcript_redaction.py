"""assistant.transcript_redaction through the tracker store, on a real SQLTrackerStore (SQLite).

The action server's route is a stand-in here (Presidio does not install in Rasa's Python 3.10):
it masks every digit and '@' and records what it was sent. The real route, with Presidio, is
tested against the real stack in tests/integration/test_transcript_privacy.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from assistant.tracker_store import RecentEventsTrackerStore
from assistant.transcript_redaction import PLACEHOLDER, REDACT_PATH, TranscriptRedactor
from tests.assistant.servers import free_port
from tests.assistant.test_tracker_store import DOMAIN, opening, save_events, synchronously

SECRET = "s" * 32
PATTERN_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")
CARD = "4111 1111 1111 1111"
EMAIL = "ada@example.com"
TOKEN = "v1.signed-customer-token"
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _masking(texts: list[str]) -> list[str]:
    return [re.sub(r"[0-9@]", "#", text) for text in texts]


@asynccontextmanager
async def redaction_route(
    handler: Handler | None = None,
) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for the action server's route; yields its URL and the requests it got."""
    requests: list[dict[str, Any]] = []

    async def redact(request: web.Request) -> web.Response:
        body = await request.json()
        requests.append({"texts": body["texts"], "authorization": request.headers["Authorization"]})
        if handler is not None:
            return await handler(request)
        return web.json_response({"texts": _masking(body["texts"])})

    app = web.Application()
    app.router.add_post(REDACT_PATH, redact)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}{REDACT_PATH}", requests
    finally:
        await runner.cleanup()


def store_at(path: Path, redactor: TranscriptRedactor) -> RecentEventsTrackerStore:
    return RecentEventsTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(path / "t.db"), redactor=redactor
    )


def stored_rows(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path / "t.db") as db:
        return [json.loads(data) for (data,) in db.execute("SELECT data FROM events ORDER BY id")]


def customer_turn() -> list[Any]:
    text = f"my card is {CARD} and my email {EMAIL}, hello"
    return [
        UserUttered(
            text,
            parse_data={
                "intent": {"name": "inform", "confidence": 0.9},
                "entities": [{"entity": "email", "value": EMAIL, "start": 0, "end": 1}],
                "text": text,
                "metadata": {"customer_token": TOKEN, "client": "abc"},
            },
            metadata={"customer_token": TOKEN, "client": "abc"},
        ),
        SlotSet("email", EMAIL),
        SlotSet("session_started_metadata", {"customer_token": TOKEN, "client": "abc"}),
        SlotSet("sentiment", {"label": "neutral", "notes": [f"card {CARD}"]}),
        ActionExecuted("action_check"),
        BotUttered(
            f"Thanks, I have {EMAIL}.",
            {"buttons": [{"title": f"Use {EMAIL}", "payload": "/affirm"}]},
        ),
        BotUttered("hello there"),
        ActionExecuted("action_listen"),
    ]


def everything_stored(path: Path) -> str:
    return json.dumps(stored_rows(path))


@synchronously
async def test_a_turn_is_stored_masked_and_the_turn_keeps_the_raw_values(tmp_path: Path) -> None:
    async with redaction_route() as (url, requests):
        store = store_at(tmp_path, TranscriptRedactor(url, SECRET, PATTERN_TYPES))
        tracker = await store.get_or_create_tracker("c1")
        for event in [*opening(), *customer_turn()]:
            tracker.update(event)
        await store.save(tracker)

    stored = everything_stored(tmp_path)
    for raw in (CARD, EMAIL, TOKEN):
        assert raw not in stored
    rows = stored_rows(tmp_path)
    user = next(row for row in rows if row["event"] == "user")
    assert user["text"] == "my card is #### #### #### #### and my email ada#example.com, hello"
    assert user["parse_data"]["text"] == user["text"]
    assert user["parse_data"]["entities"][0]["value"] == "ada#example.com"
    assert user["metadata"] == user["parse_data"]["metadata"] == {"client": "abc"}
    slots = {row["name"]: row["value"] for row in rows if row["event"] == "slot"}
    assert slots["email"] == "ada#example.com"
    assert slots["session_started_metadata"] == {"client": "abc"}
    assert slots["sentiment"] == {"label": "neutral", "notes": ["card #### #### #### ####"]}
    bots = [row for row in rows if row["event"] == "bot"]
    assert bots[0]["text"] == "Thanks, I have ada#example.com."
    assert bots[0]["data"]["buttons"][0] == {"title": "Use ada#example.com", "payload": "/affirm"}
    assert bots[1]["text"] == "hello there"
    # One call for the turn, with the secret, carrying only what could hold a masked type.
    assert len(requests) == 1
    assert requests[0]["authorization"] == f"Bearer {SECRET}"
    assert "hello there" not in requests[0]["texts"]
    assert len(requests[0]["texts"]) == len(set(requests[0]["texts"])) == 5  # each once
    assert "neutral" not in requests[0]["texts"]
    # The turn's own tracker (what the bot works with) is untouched.
    assert tracker.get_slot("email") == EMAIL
    assert tracker.latest_message is not None
    assert tracker.latest_message.metadata["customer_token"] == TOKEN


@synchronously
async def test_the_next_turn_reads_the_masked_values(tmp_path: Path) -> None:
    async with redaction_route() as (url, _):
        store = store_at(tmp_path, TranscriptRedactor(url, SECRET, PATTERN_TYPES))
        await save_events(store, "c1", [*opening(), *customer_turn()])
        await save_events(store, "c1", [UserUttered("thanks"), ActionExecuted("action_listen")])
        tracker = await store.retrieve("c1")
    assert tracker is not None
    assert tracker.get_slot("email") == "ada#example.com"  # still set, for the forms that ask
    # Rasa's initial action_listen, the first turn, the second.
    assert len(stored_rows(tmp_path)) == 1 + len(opening()) + len(customer_turn()) + 2


@pytest.mark.parametrize("failure", ["unreachable", "timeout", "error", "malformed"])
@synchronously
async def test_when_masking_fails_nothing_raw_is_stored(
    tmp_path: Path, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"texts": []})

    async def error(request: web.Request) -> web.Response:
        return web.json_response({"error": "internal server error"}, status=500)

    async def malformed(request: web.Request) -> web.Response:
        return web.json_response({"texts": ["only one"]})

    handler = {"timeout": slow, "error": error, "malformed": malformed}.get(failure)
    caplog.set_level(logging.WARNING, logger="assistant.transcript_redaction")
    async with redaction_route(handler) as (url, _):
        if failure == "unreachable":
            url = f"http://127.0.0.1:{free_port()}{REDACT_PATH}"
        redactor = TranscriptRedactor(url, SECRET, PATTERN_TYPES, timeout=0.5)
        await save_events(store_at(tmp_path, redactor), "c1", [*opening(), *customer_turn()])

    stored = everything_stored(tmp_path)
    for raw in (CARD, EMAIL, TOKEN):
        assert raw not in stored
    rows = stored_rows(tmp_path)
    user = next(row for row in rows if row["event"] == "user")
    assert user["text"] == PLACEHOLDER
    assert [row["text"] for row in rows if row["event"] == "bot"] == [PLACEHOLDER, "hello there"]
    # The turn is stored whole, in order, and a warning counts what was withheld, nothing more.
    turn = [event.type_name for event in [*opening(), *customer_turn()]]
    assert [row["event"] for row in rows] == ["action", *turn]  # Rasa's initial action_listen
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "Could not mask 5 strings" in warnings[0]
    assert EMAIL not in warnings[0] and CARD not in warnings[0]


@synchronously
async def test_without_types_to_mask_nothing_is_sent(tmp_path: Path) -> None:
    async with redaction_route() as (url, requests):
        redactor = TranscriptRedactor(url, SECRET, ())
        await save_events(store_at(tmp_path, redactor), "c1", [*opening(), *customer_turn()])
    assert requests == []
    assert CARD in everything_stored(tmp_path)
    assert TOKEN not in everything_stored(tmp_path)  # dropped whatever the types


@synchronously
async def test_names_and_addresses_make_all_free_text_a_candidate(tmp_path: Path) -> None:
    async with redaction_route() as (url, requests):
        redactor = TranscriptRedactor(url, SECRET, ("PERSON", "CREDIT_CARD"))
        await save_events(store_at(tmp_path, redactor), "c1", [*opening(), *customer_turn()])
    assert "hello there" in requests[0]["texts"]


def test_the_route_and_types_come_from_rasas_environment() -> None:
    redactor = TranscriptRedactor.from_environment(
        {
            "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
            "SUPPORTBOT_ACTION_SECRET": SECRET,
            "SUPPORTBOT_REDACT_ENTITIES": "credit_card, PERSON",
        }
    )
    assert redactor.url == "http://127.0.0.1:5055/privacy/redact"
    assert redactor.entities == ("CREDIT_CARD", "PERSON")
    assert TranscriptRedactor.from_environment({}).url is None
    assert TranscriptRedactor.from_environment({}).entities == tuple(sorted(PATTERN_TYPES))


@synchronously
async def test_without_an_action_server_url_the_candidates_are_withheld(tmp_path: Path) -> None:
    redactor = TranscriptRedactor.from_environment({})
    await save_events(store_at(tmp_path, redactor), "c1", [*opening(), *customer_turn()])
    assert CARD not in everything_stored(tmp_path)
    assert PLACEHOLDER in everything_stored(tmp_path)
