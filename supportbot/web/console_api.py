"""The agent console's API: agent login, the conversation list, reviews, tags and exports, the
transcript view's insights, training data and analytics.

Every route except login needs a session: the `sb_agent` cookie (HttpOnly, SameSite=Strict)
holds a random token whose SHA-256 is in `agent_sessions`. Routes that change state also refuse
requests whose Origin is another site's. Database work runs in worker threads (sync routes).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from supportbot.console import analytics, training_data
from supportbot.console import conversations as conv
from supportbot.console import transcript as turns
from supportbot.console.auth import Agents, AuthError, CurrentAgent
from supportbot.console.models import ReviewStatus
from supportbot.console.profile_panel import profile_panel
from supportbot.rasa_client import (
    RasaClient,
    RasaRequestError,
    RasaUnavailable,
    check_sender_id,
    messages_from_events,
)
from supportbot.settings import Settings
from supportbot.store import crm_session

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console")

COOKIE_NAME = "sb_agent"
MAX_EXPORT_ROWS = 50_000
_CLEAR_COOKIE = f"{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"

ExportFormat = Literal["json", "csv"]
Filters = Annotated[conv.ConversationFilter, Query()]


@contextmanager
def _db(request: Request) -> Iterator[Session]:
    """One CRM transaction; a database outage becomes a 503, not a stack trace."""
    settings: Settings = request.app.state.settings
    try:
        with crm_session(settings.database_url or None) as crm:
            yield crm.session
    except SQLAlchemyError:
        logger.exception("console: CRM store error")
        raise HTTPException(503, "the CRM store is unavailable") from None
    except conv.InvalidInput as error:
        raise HTTPException(422, f"Invalid request: {error}") from None
    except conv.ConversationNotFound:
        raise HTTPException(404, "no such conversation") from None


def require_agent_session(request: Request) -> CurrentAgent:
    """The signed-in agent; 401 without a live session."""
    token = request.cookies.get(COOKIE_NAME)
    agent = None
    if token:
        with _db(request) as session:
            agent = Agents(session).authenticate(token)
    if agent is None:
        # The stale cookie is dropped, so the browser stops sending it.
        headers = {"set-cookie": _CLEAR_COOKIE} if token else None
        raise HTTPException(401, "sign in to the agent console", headers)
    return agent


def check_same_origin(request: Request) -> None:
    """Refuse state changes a page on another site asked the browser to make (CSRF).

    SameSite=Strict already keeps the cookie off cross-site requests; this is the second line.
    Clients that are not browsers send no Origin and are let through."""
    origin = request.headers.get("origin")
    if origin is None:
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site in ("cross-site", "same-site"):
            raise HTTPException(403, "cross-site request refused")
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if origin.lower() != own:
        raise HTTPException(403, "cross-site request refused")


def require_agent_change(
    request: Request, agent: Annotated[CurrentAgent, Depends(require_agent_session)]
) -> CurrentAgent:
    """A signed-in agent, on a request from our own origin."""
    check_same_origin(request)
    return agent


SignedIn = Annotated[CurrentAgent, Depends(require_agent_session)]
SignedInChange = Annotated[CurrentAgent, Depends(require_agent_change)]


def _agent_view(agent: CurrentAgent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "email": agent.email,
        "name": agent.name,
        "session_expires_at": agent.session_expires_at.isoformat(),
    }


def _sender(sender_id: str) -> str:
    try:
        return check_sender_id(sender_id)
    except ValueError as error:
        raise HTTPException(422, f"Invalid request: sender_id: {error}") from None


# --- login ---------------------------------------------------------------------------------


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login", dependencies=[Depends(check_same_origin)])
def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    with _db(request) as session:
        agents = Agents(session)
        try:
            signed_in = agents.login(body.email, body.password, hours=settings.agent_session_hours)
        except AuthError as error:
            logger.info("console: a login was refused")
            raise HTTPException(401, str(error)) from None
        agent = agents.authenticate(signed_in.token)
    assert agent is not None
    logger.info("console: agent %s signed in", agent.id)
    response.set_cookie(
        COOKIE_NAME,
        signed_in.token,
        max_age=settings.agent_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"agent": _agent_view(agent)}


@router.post("/logout")
def logout(agent: SignedInChange, request: Request, response: Response) -> dict[str, str]:
    with _db(request) as session:
        Agents(session).logout(request.cookies.get(COOKIE_NAME))
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    logger.info("console: agent %s signed out", agent.id)
    return {"status": "signed out"}


@router.get("/me")
def me(agent: SignedIn) -> dict[str, Any]:
    return {"agent": _agent_view(agent)}


# --- the conversation list and exports -----------------------------------------------------


@router.get("/conversations")
def conversations(
    agent: SignedIn,
    request: Request,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=conv.MAX_PAGE_SIZE)] = conv.DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    with _db(request) as session:
        return conv.list_conversations(session, filters, page=page, page_size=page_size).as_dict()


def _attachment(content: str, export_format: ExportFormat, stem: str) -> Response:
    media = "text/csv; charset=utf-8" if export_format == "csv" else "application/json"
    return Response(
        content,
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="{stem}.{export_format}"',
            "cache-control": "no-store",
        },
    )


@router.get("/conversations/export")
def export_conversations(
    agent: SignedIn,
    request: Request,
    filters: Filters,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    with _db(request) as session:
        total = conv.list_conversations(session, filters, page=1, page_size=1).total
        if total > MAX_EXPORT_ROWS:
            raise HTTPException(
                422,
                f"Invalid request: the filters match {total} conversations; an export holds "
                f"at most {MAX_EXPORT_ROWS}",
            )
        records = list(conv.iter_conversations(session, filters))
    content = conv.to_csv(records) if format == "csv" else conv.to_json(records)
    logger.info("console: agent %s exported %d conversations", agent.id, len(records))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return _attachment(content, format, f"conversations-{stamp}")


async def _transcript(request: Request, sender_id: str) -> list[dict[str, Any]] | None:
    """The messages from Rasa's tracker store, or None while Rasa cannot be reached."""
    rasa: RasaClient = request.app.state.rasa
    try:
        result = await rasa.transcript(sender_id)
    except (RasaUnavailable, RasaRequestError):
        return None
    return [message.as_dict() for message in result.messages]


def _one(request: Request, sender_id: str) -> dict[str, Any]:
    with _db(request) as session:
        return conv.conversation(session, sender_id)


async def _conversation_with_transcript(request: Request, sender_id: str) -> dict[str, Any]:
    record = await asyncio.to_thread(_one, request, _sender(sender_id))
    return {"conversation": record, "messages": await _transcript(request, sender_id)}


async def _tracker_events(request: Request, sender_id: str) -> list[dict[str, Any]] | None:
    """The conversation's tracker events, or None while Rasa cannot be reached."""
    rasa: RasaClient = request.app.state.rasa
    try:
        return await rasa.tracker_events(sender_id)
    except (RasaUnavailable, RasaRequestError):
        return None


def _crm_detail(request: Request, sender_id: str) -> dict[str, Any]:
    with _db(request) as session:
        return {
            "conversation": conv.conversation(session, sender_id),
            "decisions": turns.decisions(session, sender_id),
            "profile": profile_panel(session, sender_id),
            "sentiments": turns.recorded_sentiments(session, sender_id),
        }


@router.get("/conversations/{sender_id}")
async def conversation_detail(agent: SignedIn, sender_id: str, request: Request) -> dict[str, Any]:
    """The conversation's CRM record, review and tags; its transcript as messages and as turns
    with what the bot made of each (both null while Rasa is down); the bot's decisions; and the
    customer panel (null for a guest)."""
    crm = await asyncio.to_thread(_crm_detail, request, _sender(sender_id))
    events = await _tracker_events(request, sender_id)
    return {
        "conversation": crm["conversation"],
        "messages": None
        if events is None
        else [message.as_dict() for message in messages_from_events(events)],
        "turns": None if events is None else turns.build_turns(events, crm["sentiments"]),
        "decisions": crm["decisions"],
        "profile": crm["profile"],
    }


@router.get("/conversations/{sender_id}/export")
async def export_conversation(
    agent: SignedIn,
    sender_id: str,
    request: Request,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    """JSON: the record and the transcript. CSV: the transcript, one row per message."""
    data = await _conversation_with_transcript(request, sender_id)
    if format == "json":
        content = json.dumps(data, ensure_ascii=False, indent=1)
    else:
        if data["messages"] is None:
            raise HTTPException(503, "the transcript is not available right now")
        content = conv.transcript_to_csv(sender_id, data["messages"])
    return _attachment(content, format, f"conversation-{sender_id}")


# --- review and tags -----------------------------------------------------------------------


class ReviewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReviewStatus | None = None
    notes: str | None = Field(default=None, max_length=conv.MAX_NOTES_LENGTH)


@router.get("/conversations/{sender_id}/review")
def get_review(agent: SignedIn, sender_id: str, request: Request) -> dict[str, Any]:
    with _db(request) as session:
        return conv.review(session, _sender(sender_id))


@router.put("/conversations/{sender_id}/review")
def put_review(
    agent: SignedInChange, sender_id: str, body: ReviewUpdate, request: Request
) -> dict[str, Any]:
    """Set the status and/or the notes; a field left out keeps its value."""
    with _db(request) as session:
        return conv.update_review(
            session, _sender(sender_id), agent_id=agent.id, status=body.status, notes=body.notes
        )


@router.post("/conversations/{sender_id}/tags/{tag}")
def add_tag(agent: SignedInChange, sender_id: str, tag: str, request: Request) -> dict[str, Any]:
    with _db(request) as session:
        return {"tags": conv.add_tag(session, _sender(sender_id), tag, agent_id=agent.id)}


@router.delete("/conversations/{sender_id}/tags/{tag}")
def remove_tag(agent: SignedInChange, sender_id: str, tag: str, request: Request) -> dict[str, Any]:
    with _db(request) as session:
        return {"tags": conv.remove_tag(session, _sender(sender_id), tag)}


# --- training data -------------------------------------------------------------------------


@router.get("/intents")
def intents(agent: SignedIn) -> dict[str, Any]:
    """The assistant's intents, for relabelling a message."""
    return {"intents": list(training_data.domain_intents())}


class TrainingExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=training_data.MAX_TEXT_LENGTH)
    intent: str = Field(min_length=1, max_length=80)


@router.post("/conversations/{sender_id}/training-examples", status_code=201)
async def mark_training_example(
    agent: SignedInChange,
    sender_id: str,
    body: TrainingExample,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Add one of the customer's messages to the NLU review file as an example of `intent`
    (201; 200 when the file has it already)."""
    settings: Settings = request.app.state.settings
    rasa: RasaClient = request.app.state.rasa
    try:
        training_data.check_intent(body.intent, training_data.domain_intents())
    except conv.InvalidInput as error:
        raise HTTPException(422, f"Invalid request: {error}") from None
    await asyncio.to_thread(_one, request, _sender(sender_id))  # 404 for an unknown one
    try:
        events = await rasa.tracker_events(sender_id)
    except (RasaUnavailable, RasaRequestError):
        raise HTTPException(503, "the transcript is not available right now") from None
    try:
        example = training_data.example_from_conversation(
            body.text, turns.customer_messages(events)
        )
        marked = await asyncio.to_thread(
            training_data.add_example,
            settings.review_file,
            body.intent,
            example,
            agent_id=agent.id,
            agent_name=agent.name,
            sender_id=sender_id,
        )
    except conv.InvalidInput as error:
        raise HTTPException(422, f"Invalid request: {error}") from None
    except training_data.TrainingDataError:
        logger.exception("console: the training data review file cannot be updated")
        raise HTTPException(503, "the training data review file cannot be updated") from None
    if not marked.added:
        response.status_code = 200
    logger.info("console: agent %s marked a training example of %s", agent.id, body.intent)
    return {"file": str(settings.review_file), "examples": marked.examples, "added": marked.added}


# --- analytics ----------------------------------------------------------------------------


@router.get("/analytics")
def get_analytics(
    agent: SignedIn,
    request: Request,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
) -> dict[str, Any]:
    """Volume, containment, handoffs, fallbacks, sentiment, CSAT, top intents and busiest hours
    of a period of UTC days (default: the last 30)."""
    with _db(request) as session:
        return analytics.analytics(session, analytics.period(date_from, date_to))
