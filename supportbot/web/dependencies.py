"""What a route gets from the request, as FastAPI dependencies: the settings and the Rasa client,
the request's CRM transaction, the conversation (the widget's signed cookie, for the principal of
the host page's token, or a sender id in the path) and who is asking (a signed-in agent, or the
interim agent API's bearer token).

Routes take these as parameters; none opens a transaction or reads a cookie by hand. Store
errors, queue refusals and bad input raised inside a route become JSON errors in app.py.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path, Request, Response
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from common import conversation_ids
from supportbot.console.auth import Agents, CurrentAgent
from supportbot.identity import InvalidCustomerToken, verify_customer_token
from supportbot.rasa_client import RasaClient, check_sender_id
from supportbot.settings import Settings, SettingsError
from supportbot.store import CRM, crm_session

T = TypeVar("T")
AGENT_COOKIE = "sb_agent"
_CLEAR_AGENT_COOKIE = f"{AGENT_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def rasa_client(request: Request) -> RasaClient:
    rasa: RasaClient = request.app.state.rasa
    return rasa


AppSettings = Annotated[Settings, Depends(app_settings)]
Rasa = Annotated[RasaClient, Depends(rasa_client)]


def crm_transaction(settings: AppSettings) -> Iterator[CRM]:
    """The request's one CRM transaction: committed once the route has returned, rolled back if
    anything raised. A sync generator, so FastAPI opens and commits it in a worker thread."""
    with crm_session(settings.database_url or None) as crm:
        yield crm


# scope="function": the commit happens before the response is sent, so a failed commit answers
# 503 instead of a success that was never stored.
CRMSession = Annotated[CRM, Depends(crm_transaction, scope="function")]


async def committed(settings: Settings, work: Callable[[CRM], T]) -> T:
    """Run `work` in a CRM transaction of its own, committed before this returns.

    For a route that must call Rasa between two changes (a claim, then the joined notice, then
    the claim undone if the notice failed): no database lock is held across the network call."""

    def call() -> T:
        with crm_session(settings.database_url or None) as crm:
            return work(crm)

    return await asyncio.to_thread(call)


# --- the conversation --------------------------------------------------------------------------


def _valid_sender_id(sender_id: str) -> str:
    try:
        return check_sender_id(sender_id)
    except ValueError as error:
        # A custom error, so the 422 says the rule (not pydantic's "Value error, ...").
        raise PydanticCustomError("sender_id", str(error)) from None


# A conversation named in the path; a bad one is a 422 "Invalid request: sender_id: ..." on every
# route, checked after the route's guards (an anonymous caller gets 401 first).
SenderId = Annotated[str, Path(), AfterValidator(_valid_sender_id)]


CUSTOMER_TOKEN_HEADER = "X-Customer-Token"
MAX_CUSTOMER_TOKEN_LENGTH = 2048


def customer_token(request: Request) -> str | None:
    """The host page's signed customer token, which the widget sends with every request (one
    longer than any token we sign counts as none)."""
    token = request.headers.get(CUSTOMER_TOKEN_HEADER, "").strip()
    return token if 0 < len(token) <= MAX_CUSTOMER_TOKEN_LENGTH else None


def principal_of(token: str | None, settings: Settings) -> str:
    """Who the request is from: the customer a valid host-page token names, or anonymous."""
    if token is None or not settings.identity_secret:
        return conversation_ids.ANONYMOUS
    try:
        customer_id = verify_customer_token(token, secret=settings.identity_secret)
    except InvalidCustomerToken:
        return conversation_ids.ANONYMOUS
    return conversation_ids.customer_principal(customer_id)


def widget_conversation(
    request: Request, response: Response, settings: AppSettings
) -> conversation_ids.SignedConversation:
    """This browser's conversation; a new one if its cookie is missing, not signed by us, older
    than SUPPORTBOT_CONVERSATION_MAX_AGE, or signed for another principal than the request's
    (the host page's token appeared, changed or went away: someone else may be at the browser).

    The cookie is (re)set on every call; it expires with the conversation."""
    secret = settings.require("session_secret")
    principal = principal_of(customer_token(request), settings)
    now = time.time()
    max_age = settings.conversation_max_age_seconds
    conversation = conversation_ids.read(
        request.cookies.get(conversation_ids.COOKIE_NAME),
        secret,
        principal=principal,
        max_age=max_age,
        now=now,
    )
    if conversation is None:
        conversation = conversation_ids.SignedConversation(
            conversation_ids.new_conversation_id(), int(now)
        )
    response.set_cookie(
        conversation_ids.COOKIE_NAME,
        conversation_ids.sign(
            conversation.conversation_id,
            secret,
            principal=principal,
            issued_at=conversation.issued_at,
        ),
        max_age=max(int(conversation.issued_at + max_age - now), 0),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/api/chat",
    )
    return conversation


WidgetConversation = Annotated[conversation_ids.SignedConversation, Depends(widget_conversation)]
CustomerToken = Annotated[str | None, Depends(customer_token)]


# --- who is asking -----------------------------------------------------------------------------


def signed_in_agent(request: Request, settings: AppSettings) -> CurrentAgent:
    """The agent of the console session cookie; 401 without a live session."""
    token = request.cookies.get(AGENT_COOKIE)
    agent = None
    if token:
        # A transaction of its own, committed before the route runs: an expired session is purged
        # even though the request is refused, and the request's transaction never carries the
        # last-seen write across its calls to Rasa.
        with crm_session(settings.database_url or None) as crm:
            agent = Agents(crm.session).authenticate(token)
    if agent is None:
        # The stale cookie is dropped, so the browser stops sending it.
        headers = {"set-cookie": _CLEAR_AGENT_COOKIE} if token else None
        raise HTTPException(401, "sign in to the agent console", headers)
    return agent


def same_origin(request: Request) -> None:
    """Refuse state changes a page on another site asked the browser to make (CSRF).

    SameSite=Strict already keeps the cookie off cross-site requests; this is the second line.
    Clients that are not browsers send no Origin and are let through."""
    origin = request.headers.get("origin")
    if origin is None:
        if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            raise HTTPException(403, "cross-site request refused")
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if origin.lower() != own:
        raise HTTPException(403, "cross-site request refused")


SignedIn = Annotated[CurrentAgent, Depends(signed_in_agent)]


def agent_changing(request: Request, agent: SignedIn) -> CurrentAgent:
    """A signed-in agent, on a request from our own origin."""
    same_origin(request)
    return agent


SignedInChange = Annotated[CurrentAgent, Depends(agent_changing)]


def interim_agent_token(request: Request, settings: AppSettings) -> None:
    """The interim agent API's bearer token (SUPPORTBOT_AGENT_TOKEN); 503 while none is set."""
    try:
        expected = settings.require("agent_api_token")
    except SettingsError:
        raise HTTPException(503, "agent API disabled: SUPPORTBOT_AGENT_TOKEN is not set") from None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(401, "agent token missing or wrong", {"WWW-Authenticate": "Bearer"})
