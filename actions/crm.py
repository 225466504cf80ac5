"""How actions reach the CRM: one session per call, run off the event loop.

Every action that touches customer data goes through `customer_id_for`, which answers from the
CRM's record of verified identity for this conversation (or a validly signed token), never from
slots, entities or unsigned metadata.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from supportbot.crm import IdentityConflict
from supportbot.identity import InvalidCustomerToken, verify_customer_token
from supportbot.settings import get_settings
from supportbot.store import CRM, crm_session

if TYPE_CHECKING:
    from rasa_sdk import Tracker

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CRMUnavailable(RuntimeError):
    """The CRM store could not be reached; the customer is told to try again."""


async def run_in_crm(work: Callable[[CRM], T]) -> T:
    """Run `work` inside one CRM transaction in a worker thread.

    Raises:
        CRMUnavailable: if the database fails; the transaction is rolled back.
    """

    def call() -> T:
        with crm_session() as crm:
            return work(crm)

    try:
        return await asyncio.to_thread(call)
    except SQLAlchemyError as error:
        logger.error("CRM call failed: %s", type(error).__name__)
        raise CRMUnavailable(type(error).__name__) from error


def _token_from(tracker: Tracker) -> str | None:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    token = metadata.get("customer_token") if isinstance(metadata, dict) else None
    return token if isinstance(token, str) and token else None


async def customer_id_for(tracker: Tracker) -> int | None:
    """The verified customer of this conversation, or None while the customer is anonymous.

    A validly signed token in the latest message binds the conversation on first sight; a
    token for a different customer than the one already bound is ignored.
    """
    sender_id = tracker.sender_id
    token = _token_from(tracker)
    token_customer: int | None = None
    if token:
        settings = get_settings()
        if settings.identity_secret:
            try:
                token_customer = verify_customer_token(token, secret=settings.identity_secret)
            except InvalidCustomerToken as error:
                logger.warning("Rejected a customer token: %s", error)
        else:
            logger.warning("A customer token arrived but SUPPORTBOT_IDENTITY_SECRET is not set")

    def resolve(crm: CRM) -> int | None:
        bound = crm.interactions.verified_customer_id(sender_id)
        if token_customer is None or bound == token_customer:
            return bound
        if crm.customers.get(token_customer) is None:
            logger.warning("A signed token names a customer that does not exist")
            return bound
        try:
            crm.interactions.bind_customer(sender_id, token_customer, method="token")
        except IdentityConflict:
            logger.warning("Ignored a token for another customer on a verified conversation")
            return bound
        return token_customer

    return await run_in_crm(resolve)


def first_name(full_name: str) -> str:
    """The name to address a customer by."""
    return full_name.split()[0] if full_name.strip() else full_name


def record_conversation(crm: CRM, tracker: Tracker) -> None:
    """Bring the CRM's interaction row up to date with the intents seen so far."""
    interaction = crm.interactions.start_or_get(tracker.sender_id)
    interaction.intents = user_intents(tracker)


def user_intents(tracker: Tracker) -> list[str]:
    """The intents of the customer's messages in this session, in order."""
    intents: list[str] = []
    for event in tracker.events_after_latest_restart():
        if event.get("event") == "session_started":
            intents = []
        elif event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name:
                intents.append(name)
    return intents
