"""What the customer hears when a part behind Rasa fails, instead of silence or a blank slate.

- **The action server hangs or is down.** Rasa waits up to 5 minutes for each action call, then
  logs "Bot will continue, but the actions events are lost" and says nothing; meanwhile the
  conversation's lock holds every later message. Here each call waits at most
  SUPPORTBOT_ACTION_TIMEOUT seconds (3 by default: a call takes well under a second, a cold
  one about one; the NLU and the rest of the turn fit in the other 2 s of the customer's 5),
  except the chat's erasure of the customer's data (common/erasure.py: ERASURE_TIMEOUT_S).
  On a timeout, a refused connection or an error answer, the customer gets an apology with a
  button to reach a person, and the turn ends listening. Once one call of a turn has failed,
  the turn's other calls fail at once, so the apology comes within one timeout and only once.
  The next message tries the server again.
- **The tracker store fails.** Rasa wraps it in a FailSafeTrackerStore, which answers a failed
  read with no tracker, so the message starts a new, empty conversation, and saves a failed
  write to memory, where nothing reads it. Here a failure propagates: the turn stops, nothing is
  saved anywhere else, the customer is told honestly, and Rasa's HTTP API answers 500 (the web
  app then answers 503). The history is there again once the store is back.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from rasa.core.actions.action import (
    Action,
    ActionExecutionRejection,
    ActionListen,
    RemoteAction,
    create_bot_utterance,
)
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from assistant.environment import action_timeout
from common.erasure import ERASURE_ACTION, ERASURE_TIMEOUT_S

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rasa.core.channels.channel import OutputChannel, UserMessage
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain

logger = logging.getLogger(__name__)

CONTACT_HUMAN_PAYLOAD = "/contact_human_agent"
APOLOGY = (
    "Sorry, I can't reach our systems right now, so I couldn't finish that. Please try again "
    "in a moment, or I can connect you with a person."
)
APOLOGY_BUTTONS = [
    {"title": "Talk to a person", "payload": CONTACT_HUMAN_PAYLOAD},
]
STORE_DOWN = (
    "Sorry, I can't open our conversation right now, so I can't answer. Please try again in a "
    "few minutes."
)


class ActionServerUnavailable(RasaException):
    """An action call timed out, could not connect, or got an error answer."""


class TrackerStoreUnavailable(RasaException):
    """The tracker store failed to read or write a conversation."""


@dataclass
class _Turn:
    """What went wrong so far while handling one customer message."""

    # The customer message's id (its UserUttered event carries it).
    message_id: str | None = None
    action_server_failed: bool = False
    apologised: bool = False


# Set for each message Rasa handles; the turn's actions (a form's validation too) see it.
_turn: ContextVar[_Turn | None] = ContextVar("supportbot_turn", default=None)


_rasa_remote_run = RemoteAction.run


async def run_remote_action(
    self: RemoteAction,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> list[Event]:
    """`RemoteAction.run` within the time limit; ActionServerUnavailable when it fails."""
    turn = _turn.get()
    if turn is not None and turn.action_server_failed:
        raise ActionServerUnavailable(f"skipped {self.name()}: the action server failed")
    timeout = action_timeout()
    if self.name() == ERASURE_ACTION:
        timeout = max(timeout, ERASURE_TIMEOUT_S)
    try:
        events: list[Event] = await asyncio.wait_for(
            _rasa_remote_run(self, output_channel, nlg, tracker, domain), timeout
        )
        return events
    except ActionExecutionRejection:
        raise  # a form's answer, part of the protocol
    except asyncio.TimeoutError:
        reason = f"no answer within {timeout:g} s"
    except (RasaException, aiohttp.ClientError) as error:
        # Rasa's message and its cause name the action, the URL and the HTTP status (a 401:
        # the secret does not match), nothing a customer said.
        reason = f"{error} ({error.__cause__})" if error.__cause__ else str(error)
    if turn is not None:
        turn.action_server_failed = True
    logger.error("Action server call %s failed: %s", self.name(), reason)
    raise ActionServerUnavailable(f"{self.name()}: {reason}")


class _Guarded(Action):
    """An action that notes, instead of raising, that it could not reach the action server."""

    def __init__(self, action: Action) -> None:
        self._action = action
        self.failed = False

    def name(self) -> str:
        return self._action.name()

    def event_for_successful_execution(self, prediction: PolicyPrediction) -> ActionExecuted:
        return self._action.event_for_successful_execution(prediction)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)

    async def run(
        self,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        try:
            events: list[Event] = await self._action.run(output_channel, nlg, tracker, domain)
            return events
        except ActionServerUnavailable:
            self.failed = True
            return []  # as Rasa: the action is logged, without events


_rasa_run_action = MessageProcessor._run_action


async def run_action_or_apologise(
    self: MessageProcessor,
    action: Action,
    tracker: DialogueStateTracker,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    prediction: PolicyPrediction,
) -> bool:
    """Rasa's `_run_action`, unless the action server failed in this turn: then the customer
    gets the apology and the turn ends listening. An action predicted after the failure (one in
    the slot mappings fails first) does not run: it would most likely need the server too."""
    turn = _turn.get()
    if turn is not None and turn.action_server_failed and action.name() != ACTION_LISTEN_NAME:
        await _apologise_and_listen(self, tracker, output_channel, nlg, turn)
        return False
    guarded = _Guarded(action)
    predict_another: bool = await _rasa_run_action(
        self, guarded, tracker, output_channel, nlg, prediction
    )
    if not guarded.failed:
        return predict_another
    await _apologise_and_listen(self, tracker, output_channel, nlg, turn)
    return False


async def _apologise_and_listen(
    processor: MessageProcessor,
    tracker: DialogueStateTracker,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    turn: _Turn | None,
) -> None:
    if turn is None or not turn.apologised:
        tracker.update_with_events(_slots_as_before(tracker, turn), processor.domain)
        apology = create_bot_utterance({"text": APOLOGY, "buttons": APOLOGY_BUTTONS})
        tracker.update(apology, processor.domain)
        await processor.execute_side_effects([apology], tracker, output_channel)
        if turn is not None:
            turn.apologised = True
    listen = PolicyPrediction.for_action_name(processor.domain, ACTION_LISTEN_NAME)
    await _rasa_run_action(processor, ActionListen(), tracker, output_channel, nlg, listen)


def _slots_as_before(tracker: DialogueStateTracker, turn: _Turn | None) -> list[Event]:
    """SlotSet events that put back what the slot mappings read from this turn's message: it
    was not handled, and a form would take a value it never validated as given."""
    events = list(tracker.events)
    latest = next(
        (i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None
    )
    if turn is None or latest is None or events[latest].message_id != turn.message_id:
        return []  # the failure came before the message (the session's start)
    changed = sorted({event.key for event in events[latest + 1 :] if isinstance(event, SlotSet)})
    if not changed:
        return []
    before = DialogueStateTracker.from_events(
        tracker.sender_id, events[:latest], tracker.slots.values()
    )
    return [SlotSet(name, before.get_slot(name)) for name in changed]


_rasa_handle_message = MessageProcessor.handle_message


async def handle_message(
    self: MessageProcessor, message: UserMessage
) -> list[dict[str, Any]] | None:
    """Rasa's `handle_message` as one turn; a failed tracker store ends it with an honest
    message, and the conversation is neither saved elsewhere nor started afresh."""
    token = _turn.set(_Turn(message.message_id))
    try:
        replies: list[dict[str, Any]] | None = await _rasa_handle_message(self, message)
        return replies
    except TrackerStoreUnavailable:
        output = message.output_channel
        await output.send_text_message(message.sender_id, STORE_DOWN)
        return output.messages if isinstance(output, CollectingOutputChannel) else None
    finally:
        _turn.reset(token)


class LoudTrackerStore(FailSafeTrackerStore):
    """Rasa's FailSafeTrackerStore without the fallback: every failure of the store raises
    TrackerStoreUnavailable. The error is logged by its type only and not chained: a failed
    INSERT's text carries what the customer said, and Sanic logs an API error's traceback."""

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await self._tracker_store.retrieve(sender_id)
        except Exception as error:
            raise _unavailable("read", error) from None

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        except Exception as error:
            raise _unavailable("read", error) from None

    async def keys(self) -> Iterable[str]:
        try:
            return await self._tracker_store.keys()
        except Exception as error:
            raise _unavailable("list", error) from None

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await self._tracker_store.save(tracker)
        except Exception as error:
            raise _unavailable("save", error) from None


def _unavailable(operation: str, error: Exception) -> TrackerStoreUnavailable:
    logger.error(
        "The tracker store failed to %s a conversation: %s", operation, type(error).__name__
    )
    return TrackerStoreUnavailable(f"the tracker store failed to {operation} a conversation")


def create_tracker_store(store: TrackerStore | None, domain: Domain) -> TrackerStore:
    """What `Agent._create_tracker_store` makes, with a LoudTrackerStore around it."""
    if store is not None:
        store.domain = domain
    return LoudTrackerStore(store if store is not None else InMemoryTrackerStore(domain))


def install() -> None:
    """Put the fault handling in place; before Rasa builds its agent."""
    RemoteAction.run = run_remote_action
    MessageProcessor._run_action = run_action_or_apologise
    MessageProcessor.handle_message = handle_message
    Agent._create_tracker_store = staticmethod(create_tracker_store)
