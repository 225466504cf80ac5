"""How actions reach the CRM: one transaction per action, run off the event loop.

`run_for_customer` works out who the customer is and does the action's work in the same
transaction. The customer is the one a validly signed token in the latest message names, or the
one the CRM's record of verified identity for this conversation names while it is fresh; never
one from slots, entities or unsigned metadata.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from supportbot.identity import InvalidCustomerToken, verify_customer_token
from supportbot.settings import get_settings
from supportbot.store import CRM, crm_session

if TYPE_CHECKING:
    from rasa_sdk import Tracker

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


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


async def run_for_customer(tracker: Tracker, work: Callable[[CRM, int | None], T]) -> T:
    """Run `work(crm, customer_id)` inside one CRM transaction in a worker thread, with the
    verified customer of this conversation, or None while the customer is anonymous.

    Raises:
        CRMUnavailable: if the database fails; the transaction (a new binding too) is rolled back.
    """
    sender_id = tracker.sender_id
    token_customer = _token_customer(tracker)
    return await run_in_crm(
        lambda crm: work(crm, verified_customer(crm, sender_id, token_customer))
    )


def verified_customer(crm: CRM, sender_id: str, token_customer: int | None) -> int | None:
    """Who this conversation's customer is, given the customer a valid host-page token in the
    latest message names (or None), binding or unbinding as that proves.

    - A valid token always outranks an older binding, whatever its method: the conversation is
      (re)bound to the token's customer.
    - A conversation bound by a token whose latest message has no valid token for that customer
      (logged out, token expired) is anonymous again, and unbound.
    - A binding older than the binding TTL counts for nothing.
    """
    binding = crm.interactions.binding(sender_id)
    # The customer a host-page token bound this conversation to, if that is how it is bound.
    token_bound = binding.customer_id if binding and binding.method == "token" else None
    if token_customer is not None:
        if token_bound == token_customer:
            return token_customer
        customer = crm.customers.get(token_customer)
        # An erased customer stays erased: a token signed before their erasure (or the shop's
        # account that outlived it) must not bind new conversations to the anonymous row.
        if customer is not None and not customer.erased:
            crm.interactions.bind_customer(sender_id, token_customer, method="token")
            return token_customer
        logger.warning("A signed token names a customer that does not exist or was erased")
    if token_bound is not None:
        crm.interactions.unbind(sender_id)
        return None
    return binding.customer_id if binding else None


def _token_customer(tracker: Tracker) -> int | None:
    """The customer a validly signed token in the latest message names, if any."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    token = metadata.get("customer_token") if isinstance(metadata, dict) else None
    if not isinstance(token, str) or not token:
        return None
    secret = get_settings().identity_secret
    if not secret:
        logger.warning("A customer token arrived but SUPPORTBOT_IDENTITY_SECRET is not set")
        return None
    try:
        return verify_customer_token(token, secret=secret)
    except InvalidCustomerToken as error:
        logger.warning("Rejected a customer token: %s", error)
        return None


def tell_customer_if_crm_unavailable(
    returning: Any, *, response: str = "utter_crm_unavailable"
) -> Callable[[Handler], Handler]:
    """Decorate an action's `run` or a form's `validate_<slot>`: when the CRM is unavailable the
    customer hears `response`, and Rasa gets `returning` (the events or slots to set)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def handle(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except CRMUnavailable:
                dispatcher = next(
                    arg
                    for arg in (*args, *kwargs.values())
                    if isinstance(arg, CollectingDispatcher)
                )
                dispatcher.utter_message(response=response)
                return copy.deepcopy(returning)

        return cast(Handler, handle)

    return decorate


def first_name(full_name: str) -> str:
    """The name to address a customer by."""
    return full_name.split()[0] if full_name.strip() else full_name
