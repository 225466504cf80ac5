"""The recent-events tracker store: a long session comes back bounded, with the same state, and
nothing is lost or stored twice."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.tracker_store import CUT_STEP, RECENT_EVENTS, RecentEventsTrackerStore

DOMAIN = Domain.load(str(Path(__file__).parents[2] / "domain.yml"))


@pytest.fixture
def store(tmp_path: Path) -> RecentEventsTrackerStore:
    return RecentEventsTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))


def opening() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("customer_name", "Ada"),
        ActionExecuted("action_listen"),
    ]


def turn(n: int) -> list[Event]:
    """One customer message and the bot's answer: 5 events."""
    return [
        UserUttered(f"message {n}", {"name": "ask_return_policy", "confidence": 0.9}),
        SlotSet("sentiment", {"label": "neutral", "score": n / 1000}),
        ActionExecuted("action_answer_question"),
        BotUttered(f"answer {n}"),
        ActionExecuted("action_listen"),
    ]


def synchronously(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Rasa's environment has no pytest-asyncio: each test runs its own event loop."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def whole_session(store: RecentEventsTrackerStore, sender: str) -> DialogueStateTracker:
    """The latest session as Rasa's own SQL tracker store returns it."""
    tracker = await SQLTrackerStore._retrieve(store, sender, fetch_events_from_all_sessions=False)
    assert tracker is not None
    return tracker


async def save_events(store: RecentEventsTrackerStore, sender: str, events: list[Event]) -> None:
    """Append events as Rasa does: retrieve (or create), update, save."""
    tracker = await store.get_or_create_tracker(sender)
    for event in events:
        tracker.update(event)
    await store.save(tracker)


@synchronously
async def test_a_short_session_comes_back_whole(store: RecentEventsTrackerStore):
    await save_events(store, "short", opening())
    await save_events(store, "short", [e for n in range(5) for e in turn(n)])

    tracker = await store.retrieve("short")
    full = await whole_session(store, "short")

    assert tracker is not None and full is not None
    assert [e.as_dict() for e in tracker.events] == [e.as_dict() for e in full.events]


@synchronously
async def test_a_long_session_comes_back_bounded_with_the_same_state(
    store: RecentEventsTrackerStore,
):
    await save_events(store, "long", opening())
    # An early slot and a form started long before the window must survive the cut.
    await save_events(store, "long", [SlotSet("order_id", "100001"), ActiveLoop("csat_form")])
    for n in range(100):  # 500 events, one turn at a time
        await save_events(store, "long", turn(n))

    tracker = await store.retrieve("long")
    full = await whole_session(store, "long")
    assert tracker is not None

    assert len(full.events) > 500
    assert len(tracker.events) <= 4 + len(DOMAIN.slots) + 2 + RECENT_EVENTS + CUT_STEP
    assert tracker.current_slot_values() == full.current_slot_values()
    assert tracker.slots["order_id"].value == "100001"
    assert tracker.active_loop_name == "csat_form"
    assert tracker.latest_message is not None and tracker.latest_message.text == "message 99"
    # The window is the session's latest events, starting at a customer message.
    window = [e.as_dict() for e in tracker.events][-RECENT_EVENTS:]
    assert window == [e.as_dict() for e in full.events][-RECENT_EVENTS:]


@synchronously
async def test_turns_on_a_cut_tracker_are_stored_once_and_in_order(
    store: RecentEventsTrackerStore,
):
    await save_events(store, "long", opening())
    for n in range(120):
        await save_events(store, "long", turn(n))

    full = await store.retrieve_full_tracker("long")
    assert full is not None
    said = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert said == [f"message {n}" for n in range(120)]
    assert len(full.events) == 1 + 4 + 120 * 5  # with the action_listen a new tracker starts with
    # The last turn's sentiment is the slot's value, on the cut tracker as on the whole one.
    tracker = await store.retrieve("long")
    assert tracker is not None
    assert tracker.get_slot("sentiment") == {"label": "neutral", "score": 0.119}


@synchronously
async def test_a_new_session_is_not_given_the_last_sessions_state(
    store: RecentEventsTrackerStore,
):
    await save_events(store, "again", opening())
    await save_events(store, "again", [ActiveLoop("csat_form")])
    for n in range(60):
        await save_events(store, "again", turn(n))
    assert (await store.retrieve("again")).active_loop_name == "csat_form"  # type: ignore[union-attr]

    await save_events(store, "again", opening())
    for n in range(60):
        await save_events(store, "again", turn(n))

    tracker = await store.retrieve("again")
    assert tracker is not None
    assert tracker.active_loop_name is None
    assert tracker.get_slot("customer_name") == "Ada"


@synchronously
async def test_an_erased_conversation_leaves_no_state_behind_in_memory(
    store: RecentEventsTrackerStore,
):
    """Erasure deletes a conversation's events (supportbot.privacy.erasure) behind the running
    server's back; SQLite then hands the same ids to the events that follow."""
    await save_events(store, "erased", opening())
    await save_events(store, "erased", [SlotSet("order_id", "100001"), ActiveLoop("csat_form")])
    for n in range(100):
        await save_events(store, "erased", turn(n))
    assert (await store.retrieve("erased")).get_slot("order_id") == "100001"  # type: ignore[union-attr]

    with store.engine.begin() as connection:
        connection.execute(store.SQLEvent.__table__.delete())
    assert await store.retrieve("erased") is None
    # The same conversation goes on, as long and in the same rows, without what was erased.
    await save_events(store, "erased", [*opening()[:2], SlotSet("customer_name", None)])
    await save_events(store, "erased", [ActionExecuted("action_listen")] * 3)
    await save_events(store, "erased", [e for n in range(100) for e in turn(n)])

    tracker = await store.retrieve("erased")
    assert tracker is not None
    assert tracker.get_slot("order_id") is None
    assert tracker.get_slot("customer_name") is None
    assert tracker.active_loop_name is None
