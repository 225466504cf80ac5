"""What a route gets from the request, as FastAPI dependencies: the settings and the Rasa client,
the request's CRM transaction, the conversation (the widget's signed cookie, for the principal of
the host page's token, or a sender id in the path) and who is asking (a signed-in agent, or an
agent's scoped API token), and their role.

Routes take these as parameters; none opens a transaction or reads a cookie by hand. Store
errors, queue refusals and bad input raised inside a route become JSON errors in app.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path, Request, Response
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from common import conversation_ids
from common.chat_messages import MAX_CUSTOMER_TOKEN_LENGTH
from common.client_addresses import client_group
from supportbot.console.audit import Source
from supportbot.console.auth import Agents, CurrentAgent
from supportbot.console.tokens import AgentTokens, Scope
from supportbot.identity import InvalidCustomerToken, verify_customer_token
from supportbot.rasa_client import RasaClient, check_sender_id
from supportbot.settings import Settings
from supportbot.store import CRM, crm_session

T = TypeVar("T")
AGENT_COOKIE = "sb_agent"
_CLEAR_AGENT_COOKIE = f"{AGENT_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"
_BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


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


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _session_agent(request: Request, settings: Settings) -> CurrentAgent:
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


def _token_agent(token: str, settings: Settings, scope: Scope | None) -> CurrentAgent:
    """The agent an API token acts as, if the route is one of its scopes."""
    with crm_session(settings.database_url or None) as crm:
        agent = AgentTokens(crm.session).authenticate(token)
    if agent is None:
        raise HTTPException(401, "API token unknown, expired or revoked", _BEARER_CHALLENGE)
    if scope is None or agent.scopes is None or scope.value not in agent.scopes:
        raise HTTPException(403, "this API token's scopes do not cover this request")
    return agent


def agent_for(scope: Scope | None) -> Callable[[Request, Settings], CurrentAgent]:
    """A dependency: the console session's agent, or, on a route of `scope`, an API token's.

    A route without a scope is for the console only: a token there is refused (403)."""

    def caller(request: Request, settings: AppSettings) -> CurrentAgent:
        token = _bearer(request)
        if token is not None:
            return _token_agent(token, settings, scope)
        return _session_agent(request, settings)

    return caller


def same_origin(request: Request) -> None:
    """Refuse state changes a page on another site asked the browser to make (CSRF).

    SameSite=Strict already keeps the cookie off cross-site requests; this is the second line.
    Clients that are not browsers send no Origin and are let through (a browser never sends an
    API token on its own)."""
    origin = request.headers.get("origin")
    if origin is None:
        if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            raise HTTPException(403, "cross-site request refused")
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if origin.lower() != own:
        raise HTTPException(403, "cross-site request refused")


def _changing(scope: Scope | None) -> Callable[[Request, CurrentAgent], CurrentAgent]:
    guard = agent_for(scope)

    # A default, not an Annotated hint: hints are strings here, resolved in the module's globals.
    def caller(request: Request, agent: CurrentAgent = Depends(guard)) -> CurrentAgent:  # noqa: B008
        same_origin(request)
        return agent

    return caller


def _admin(agent: CurrentAgent) -> CurrentAgent:
    if not agent.is_admin:
        raise HTTPException(403, "only an admin may do this")
    return agent


def admin_reading(agent: Annotated[CurrentAgent, Depends(agent_for(None))]) -> CurrentAgent:
    return _admin(agent)


def admin_changing(agent: Annotated[CurrentAgent, Depends(_changing(None))]) -> CurrentAgent:
    return _admin(agent)


def admin_exporting(
    agent: Annotated[CurrentAgent, Depends(agent_for(Scope.EXPORT))],
) -> CurrentAgent:
    return _admin(agent)


# The console's own routes: a session only.
SignedIn = Annotated[CurrentAgent, Depends(agent_for(None))]
SignedInChange = Annotated[CurrentAgent, Depends(_changing(None))]
# Routes a token of the scope may call too.
Reader = Annotated[CurrentAgent, Depends(agent_for(Scope.READ))]
TakeoverAgent = Annotated[CurrentAgent, Depends(agent_for(Scope.TAKEOVER))]
TakeoverChange = Annotated[CurrentAgent, Depends(_changing(Scope.TAKEOVER))]
# Admins only (403 for agents): agent and token management, the audit trail, bulk exports.
Admin = Annotated[CurrentAgent, Depends(admin_reading)]
AdminChange = Annotated[CurrentAgent, Depends(admin_changing)]
AdminExport = Annotated[CurrentAgent, Depends(admin_exporting)]


def audit_source(request: Request, settings: AppSettings) -> Source:
    """The client, as the audit trail names it: a keyed hash of its address, never in clear."""
    # The client as the rate limits count it (an IPv6 /64), so both name it alike.
    return Source.client(
        client_group(request.client.host) if request.client else None,
        settings.require("audit_secret"),
    )


AuditSource = Annotated[Source, Depends(audit_source)]
