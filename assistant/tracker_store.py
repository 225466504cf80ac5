"""Rasa's SQL tracker store, handing the dialogue only the recent part of a long session.

On every message Rasa rebuilds the conversation's tracker from all the events of its session,
then copies and replays it several times in the turn (policies, forms) and sends it whole to the
action server on every call: a turn's cost grew with the conversation's length (reports/load.md).
Nothing that decides the next turn looks that far back: the policies' max_history is 5 turns and
the longest rule is shorter than RECENT_EVENTS. So a long session comes back as its opening
events, the slots and active form as they stood, and the latest events from a customer message
on. Saving appends only what the turn added. Every event stays in the table:
`retrieve_full_tracker` (the console, exports, GET /conversations/<id>/tracker) reads them all.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, NamedTuple

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActiveLoop, Event, LoopInterrupted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

# A session longer than this is handed over cut; the window is at least RECENT_EVENTS long and
# starts at a customer message. The cut moves in steps of CUT_STEP events, so the state before
# it is computed once per step, not once per turn.
RECENT_EVENTS = 120
CUT_STEP = 60
# Senders whose state before the cut is kept in memory (each a few slot values).
CACHED_SENDERS = 10_000

# How many of a tracker's events are in the table already: set on the tracker Rasa saves later.
_STORED = "_supportbot_stored_events"


class RecentEventsTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose `retrieve` returns a bounded tracker (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # As the CRM's: a write-ahead log, so that saving a turn appends to the log rather
            # than syncing the whole journal, and readers never wait for it.
            event.listen(self.engine, "connect", _write_ahead_log)
            self.engine.dispose()  # connections opened while Rasa created the table
        # sender -> the state at the cut of its latest session (see _Cut). Only the Rasa server's
        # event loop thread calls the store: no lock needed.
        self._before_cut: OrderedDict[str, _Cut] = OrderedDict()

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = query.with_entities(
                self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.timestamp
            ).all()
            if not rows:
                # Erased (supportbot.privacy.erasure) or never there: nothing of it stays here.
                self._before_cut.pop(sender_id, None)
            if not rows or self.domain is None:
                return None
            cut = _cut(rows)
            if cut is None:
                events = [json.loads(row.data) for row in query.all()]
            else:
                opening_ids = [row.id for row in itertools.takewhile(_not_user, rows)]
                cut_id = rows[cut].id
                before = query.filter(
                    self.SQLEvent.id < cut_id, self.SQLEvent.id.notin_(opening_ids)
                )
                opening = query.filter(self.SQLEvent.id.in_(opening_ids)).all()
                recent = query.filter(self.SQLEvent.id >= cut_id).all()
                events = [json.loads(row.data) for row in opening]
                events += self._state_before(sender_id, rows[0], cut_id, events, before)
                events += [json.loads(row.data) for row in recent]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, _STORED, len(tracker.events))
        return tracker

    def _state_before(
        self,
        sender_id: str,
        session_start: Any,
        cut_id: int,
        opening: list[dict[str, Any]],
        before: Any,
    ) -> list[dict[str, Any]]:
        """Events that set the slots and the active form as they stood at the cut."""
        session = (session_start.id, session_start.timestamp)
        cached = self._before_cut.get(sender_id)
        if cached is not None and cached.session != session:
            cached = None  # another session, or the conversation was erased and went on
        if cached is not None and cached.cut_id == cut_id:
            self._before_cut.move_to_end(sender_id)
            return cached.state
        # From the state at an earlier cut of this session if known, else from its opening.
        if cached is not None and cached.cut_id < cut_id:
            start, replay = cached.cut_id, [*opening, *cached.state]
            before = before.filter(self.SQLEvent.id >= start)
        else:
            replay = list(opening)
        replay += [json.loads(row.data) for row in before.all()]
        assert self.domain is not None
        state = _state_events(DialogueStateTracker.from_dict(sender_id, replay, self.domain.slots))
        self._before_cut[sender_id] = _Cut(session, cut_id, state)
        self._before_cut.move_to_end(sender_id)
        while len(self._before_cut) > CACHED_SENDERS:
            self._before_cut.popitem(last=False)
        return state

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The events the turn added to a tracker this store handed out; Rasa's count of the
        session's rows otherwise (a tracker Rasa made itself, which is whole)."""
        stored = getattr(tracker, _STORED, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        setattr(tracker, _STORED, len(tracker.events))
        return itertools.islice(tracker.events, stored, len(tracker.events))


class _Cut(NamedTuple):
    """A session's state at its cut. The session is named by its first event's id and time: a
    deleted conversation's ids can come back on SQLite, its times do not."""

    session: tuple[int, float | None]
    cut_id: int  # the first event after the cut
    state: list[dict[str, Any]]  # the events that restore the slots and the active form


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _not_user(row: Any) -> bool:
    return bool(row.type_name != "user")


def _cut(rows: list[Any]) -> int | None:
    """Index of the first event handed over whole, or None to hand over the whole session.

    The window starts at a customer message at or before RECENT_EVENTS from the end, on a
    CUT_STEP boundary, so that consecutive turns share one cut.
    """
    if len(rows) <= RECENT_EVENTS + CUT_STEP:
        return None
    boundary = (len(rows) - RECENT_EVENTS) // CUT_STEP * CUT_STEP
    for index in range(boundary, 0, -1):
        if rows[index].type_name == "user":
            return index
    return None


def _state_events(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """The tracker's slot values and active form, as events that restore them."""
    events: list[Event] = [
        SlotSet(slot.name, slot.value)
        for slot in tracker.slots.values()
        if slot.value != slot.initial_value
    ]
    if tracker.active_loop is not None and tracker.active_loop_name:
        events.append(ActiveLoop(tracker.active_loop_name))
        if tracker.active_loop.is_interrupted:
            events.append(LoopInterrupted(True))
    return [event.as_dict() for event in events]
