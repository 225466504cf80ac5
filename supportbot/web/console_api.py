"""The agent console's API: agent login, the conversation list, reviews, tags and exports, the
transcript view's insights, training data and analytics.

Every route except login needs a session: the `sb_agent` cookie (HttpOnly, SameSite=Strict)
holds a random token whose SHA-256 is in `agent_sessions`. The reading routes also take an
admin-issued API token with the scope `conversations:read`; an export of many conversations is
for admins only, and audited. Routes that change state also refuse requests whose Origin is
another site's. Database work runs in worker threads (sync routes, or asyncio.to_thread in the
routes that also wait for Rasa).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParameter
from pydantic import BaseModel, ConfigDict, Field

from supportbot.console import analytics, training_data
from supportbot.console import conversations as conv
from supportbot.console import transcript as turns
from supportbot.console.audit import AuditTrail, agent_actor
from supportbot.console.auth import REFUSED, Agents, CurrentAgent, LoginPolicy, SignedIn
from supportbot.console.models import ReviewStatus
from supportbot.console.profile_panel import profile_panel
from supportbot.insights import queries
from supportbot.privacy import erasure, retention
from supportbot.privacy.pii import get_pii_detector
from supportbot.rasa_client import (
    RasaClient,
    RasaRequestError,
    RasaUnavailable,
    messages_from_events,
)
from supportbot.settings import Settings
from supportbot.store import CRM
from supportbot.web.dependencies import (
    AGENT_COOKIE,
    AdminExport,
    AppSettings,
    AuditSource,
    CRMSession,
    Rasa,
    Reader,
    SenderId,
    SignedInChange,
    committed,
    same_origin,
)
from supportbot.web.rate_limits import login_limit
from supportbot.web.responses import (
    Analytics,
    ConversationDetail,
    ConversationPage,
    ErasureDone,
    InsightsOverview,
    Intents,
    MarkedExample,
    PrivacyPolicy,
    Review,
    SignedInAgent,
    Status,
    Tags,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console")

MAX_EXPORT_ROWS = 50_000

ExportFormat = Literal["json", "csv"]
Filters = Annotated[conv.ConversationFilter, Query()]


def _signed_in(agent: CurrentAgent) -> SignedInAgent:
    return SignedInAgent.model_validate(
        {
            "agent": {
                "id": agent.id,
                "email": agent.email,
                "name": agent.name,
                "role": agent.role,
                "session_expires_at": agent.session_expires_at.isoformat(),
            }
        }
    )


# --- login ---------------------------------------------------------------------------------


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login", dependencies=[Depends(same_origin), login_limit])
async def login(
    body: Login, settings: AppSettings, source: AuditSource, request: Request, response: Response
) -> SignedInAgent:
    """A session cookie for valid credentials. Every refusal (unknown email, wrong password,
    disabled or locked account) is the same 401, and is counted and audited."""
    policy = LoginPolicy.of(settings)

    def sign_in(crm: CRM) -> tuple[SignedIn, CurrentAgent] | None:
        agents = Agents(crm.session)
        signed_in = agents.login(
            body.email,
            body.password,
            hours=settings.agent_session_hours,
            source=source,
            policy=policy,
        )
        agent = None if signed_in is None else agents.authenticate(signed_in.token)
        return None if signed_in is None or agent is None else (signed_in, agent)

    # Its own transaction, committed even when the login is refused: the count and the audit
    # line of a refusal must stand.
    result = await committed(settings, sign_in)
    if result is None:
        # The audit trail's line names the account and the source (keyed hashes).
        raise HTTPException(401, REFUSED)
    signed_in, agent = result
    logger.info("console: agent %s signed in", agent.id)
    response.set_cookie(
        AGENT_COOKIE,
        signed_in.token,
        max_age=settings.agent_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return _signed_in(agent)


@router.post("/logout")
def logout(agent: SignedInChange, crm: CRMSession, request: Request, response: Response) -> Status:
    Agents(crm.session).logout(request.cookies.get(AGENT_COOKIE))
    response.delete_cookie(AGENT_COOKIE, path="/", httponly=True, samesite="strict")
    logger.info("console: agent %s signed out", agent.id)
    return Status(status="signed out")


@router.get("/me")
def me(agent: Reader) -> SignedInAgent:
    return _signed_in(agent)


# --- the conversation list and exports -----------------------------------------------------


@router.get("/conversations")
def conversations(
    agent: Reader,
    crm: CRMSession,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=conv.MAX_PAGE_SIZE)] = conv.DEFAULT_PAGE_SIZE,
) -> ConversationPage:
    listed = conv.list_conversations(crm.session, filters, page=page, page_size=page_size)
    return ConversationPage.model_validate(listed.as_dict())


def _export_mask(settings: Settings) -> Callable[[str], str]:
    """What exports do to free text: the configured kinds of personal data masked."""
    return partial(get_pii_detector().redact, entities=settings.privacy.stored_entities)


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
    agent: AdminExport,
    crm: CRMSession,
    filters: Filters,
    source: AuditSource,
    settings: AppSettings,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    """The filtered set as one file: admins only, and audited (who, which filters, how many).
    Personal data in free text is masked (SUPPORTBOT_REDACT_ENTITIES)."""
    total = conv.list_conversations(crm.session, filters, page=1, page_size=1).total
    if total > MAX_EXPORT_ROWS:
        raise HTTPException(
            422,
            f"Invalid request: the filters match {total} conversations; an export holds "
            f"at most {MAX_EXPORT_ROWS}",
        )
    mask = _export_mask(settings)
    records = [conv.masked_record(r, mask) for r in conv.iter_conversations(crm.session, filters)]
    content = conv.to_csv(records) if format == "csv" else conv.to_json(records)
    AuditTrail(crm.session).record(
        agent_actor(agent.id),
        "conversations.export",
        subject=f"{len(records)} conversations",
        source=source.name,
        details={
            "format": format,
            "count": len(records),
            # Which filters, not their values: free text and the customer name people.
            "filters": sorted(filters.model_dump(mode="json", exclude_none=True)),
        },
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return _attachment(content, format, f"conversations-{stamp}")


async def _tracker_events(rasa: RasaClient, sender_id: str) -> list[dict[str, Any]] | None:
    """The conversation's tracker events, or None while Rasa cannot be reached."""
    try:
        return await rasa.tracker_events(sender_id)
    except (RasaUnavailable, RasaRequestError):
        return None


def _crm_detail(crm: CRM, sender_id: str) -> dict[str, Any]:
    return {
        "conversation": conv.conversation(crm.session, sender_id),
        "decisions": turns.decisions(crm.session, sender_id),
        "profile": profile_panel(crm.session, sender_id),
        "sentiments": turns.recorded_sentiments(crm.session, sender_id),
    }


# exclude_unset: keys a turn or an entity does not have stay out of the JSON, as before.
@router.get("/conversations/{sender_id}", response_model_exclude_unset=True)
async def conversation_detail(
    agent: Reader, sender_id: SenderId, crm: CRMSession, rasa: Rasa
) -> ConversationDetail:
    """The conversation's CRM record, review and tags; its transcript as messages and as turns
    with what the bot made of each (both null while Rasa is down); the bot's decisions; and the
    customer panel (null for a guest)."""
    record = await asyncio.to_thread(_crm_detail, crm, sender_id)
    events = await _tracker_events(rasa, sender_id)
    return ConversationDetail.model_validate(
        {
            "conversation": record["conversation"],
            "messages": None if events is None else messages_from_events(events),
            "turns": None if events is None else turns.build_turns(events, record["sentiments"]),
            "decisions": record["decisions"],
            "profile": record["profile"],
        }
    )


@router.get("/conversations/{sender_id}/export")
async def export_conversation(
    agent: Reader,
    sender_id: SenderId,
    crm: CRMSession,
    rasa: Rasa,
    settings: AppSettings,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    """JSON: the record and the transcript. CSV: the transcript, one row per message. Personal
    data in free text and messages is masked (SUPPORTBOT_REDACT_ENTITIES)."""
    record = await asyncio.to_thread(conv.conversation, crm.session, sender_id)
    try:
        transcript = await rasa.transcript(sender_id)
        messages: list[dict[str, Any]] | None = [m.as_dict() for m in transcript.messages]
    except (RasaUnavailable, RasaRequestError):
        messages = None

    mask = await asyncio.to_thread(_export_mask, settings)  # the first loads the detector
    record = await asyncio.to_thread(conv.masked_record, record, mask)
    if messages is not None:
        messages = await asyncio.to_thread(conv.masked_messages, messages, mask)
    if format == "json":
        content = json.dumps(
            {"conversation": record, "messages": messages}, ensure_ascii=False, indent=1
        )
    else:
        if messages is None:
            raise HTTPException(503, "the transcript is not available right now")
        content = conv.transcript_to_csv(sender_id, messages)
    return _attachment(content, format, f"conversation-{sender_id}")


# --- review and tags -----------------------------------------------------------------------


class ReviewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReviewStatus | None = None
    notes: str | None = Field(default=None, max_length=conv.MAX_NOTES_LENGTH)


@router.get("/conversations/{sender_id}/review")
def get_review(agent: Reader, sender_id: SenderId, crm: CRMSession) -> Review:
    return Review.model_validate(conv.review(crm.session, sender_id))


@router.put("/conversations/{sender_id}/review")
def put_review(
    agent: SignedInChange, sender_id: SenderId, body: ReviewUpdate, crm: CRMSession
) -> Review:
    """Set the status and/or the notes; a field left out keeps its value."""
    updated = conv.update_review(
        crm.session, sender_id, agent_id=agent.id, status=body.status, notes=body.notes
    )
    return Review.model_validate(updated)


@router.post("/conversations/{sender_id}/tags/{tag}")
def add_tag(agent: SignedInChange, sender_id: SenderId, tag: str, crm: CRMSession) -> Tags:
    return Tags(tags=conv.add_tag(crm.session, sender_id, tag, agent_id=agent.id))


@router.delete("/conversations/{sender_id}/tags/{tag}")
def remove_tag(agent: SignedInChange, sender_id: SenderId, tag: str, crm: CRMSession) -> Tags:
    return Tags(tags=conv.remove_tag(crm.session, sender_id, tag))


# --- training data -------------------------------------------------------------------------


@router.get("/intents")
def intents(agent: Reader) -> Intents:
    """The assistant's intents, for relabelling a message."""
    return Intents(intents=list(training_data.domain_intents()))


class TrainingExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=training_data.MAX_TEXT_LENGTH)
    intent: str = Field(min_length=1, max_length=80)


@router.post("/conversations/{sender_id}/training-examples", status_code=201)
async def mark_training_example(
    agent: SignedInChange,
    sender_id: SenderId,
    body: TrainingExample,
    crm: CRMSession,
    rasa: Rasa,
    settings: AppSettings,
    response: Response,
) -> MarkedExample:
    """Add one of the customer's messages to the NLU review file as an example of `intent`
    (201; 200 when the file has it already)."""
    training_data.check_intent(body.intent, training_data.domain_intents())
    await asyncio.to_thread(conv.conversation, crm.session, sender_id)  # 404 for an unknown one
    try:
        events = await rasa.tracker_events(sender_id)
    except (RasaUnavailable, RasaRequestError):
        raise HTTPException(503, "the transcript is not available right now") from None
    example = training_data.example_from_conversation(body.text, turns.customer_messages(events))
    try:
        marked = await asyncio.to_thread(
            training_data.add_example,
            settings.review_file,
            body.intent,
            example,
            agent_id=agent.id,
            agent_name=agent.name,
            sender_id=sender_id,
            masked=settings.privacy.stored_entities,
        )
    except training_data.TrainingDataError:
        logger.exception("console: the training data review file cannot be updated")
        raise HTTPException(503, "the training data review file cannot be updated") from None
    if not marked.added:
        response.status_code = 200
    logger.info("console: agent %s marked a training example of %s", agent.id, body.intent)
    return MarkedExample(
        file=str(settings.review_file), examples=marked.examples, added=marked.added
    )


# --- analytics ----------------------------------------------------------------------------


# --- erasure on request -------------------------------------------------------------------


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=erasure.MAX_REASON_LENGTH)


@router.post("/customers/{customer_id}/erasure")
def erase_customer(
    agent: SignedInChange,
    customer_id: Annotated[int, PathParameter(ge=1)],
    body: ErasureRequest,
    settings: AppSettings,
    source: AuditSource,
) -> ErasureDone:
    """Erase a customer on their request (the right to be forgotten): any agent, with a reason,
    audited. A sync route: the erasure's transactions run in a worker thread."""
    if not body.reason.strip():
        raise HTTPException(422, "Invalid request: reason: an erasure needs a reason")
    try:
        report = erasure.erase_customer(
            settings,
            customer_id,
            actor=agent_actor(agent.id),
            reason=body.reason,
            source=source.name,
        )
    except erasure.UnknownCustomer:
        raise HTTPException(404, "no such customer") from None
    except erasure.ErasureError as error:
        raise HTTPException(503, str(error)) from None
    return ErasureDone.model_validate(report.as_dict())


@router.get("/analytics")
def get_analytics(
    agent: Reader,
    crm: CRMSession,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
) -> Analytics:
    """Volume, containment, handoffs, fallbacks, sentiment, CSAT, top intents and busiest hours
    of a period of UTC days (default: the last 30)."""
    figures = analytics.analytics(crm.session, analytics.period(date_from, date_to))
    return Analytics.model_validate(figures)


@router.get("/insights")
def get_insights(agent: Reader, crm: CRMSession) -> InsightsOverview:
    """The latest insights run across customers: segments and their trend, complaint themes."""
    return InsightsOverview.model_validate(
        {
            **queries.segments_view(crm.session),
            "themes": queries.complaint_themes(crm.session),
        }
    )


# --- privacy ------------------------------------------------------------------------------


@router.get("/privacy")
def privacy_policy(agent: Reader, settings: AppSettings, crm: CRMSession) -> PrivacyPolicy:
    """What is kept how long, what is masked before storage, and the retention job's last run."""
    rules = settings.privacy
    return PrivacyPolicy.model_validate(
        {
            "retention_days": rules.retention_days,
            "retention_interval_hours": rules.retention_interval_hours,
            "keep_tag": retention.KEEP_TAG,
            "masked_entities": list(rules.stored_entities),
            "last_run": retention.last_run(crm.session),
        }
    )
