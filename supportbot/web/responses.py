"""The JSON the widget and the agent console read, as response models.

Field order is the JSON's key order. extra="forbid": a key a service adds and no model names is
a failing test, not a key the browser silently stops getting. Timestamps stay the ISO strings the
services write (`crm.models.utc_iso`), so they read "+00:00" as before, not pydantic's "Z".
Exports (CSV and JSON downloads) are files, not these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from common.chat_messages import ChatMessage
from supportbot.console.conversations import Sentiment
from supportbot.console.models import AgentRole, HandoffState, ReviewStatus
from supportbot.rasa_client import Transcript


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Status(Reply):
    status: str


class Named(Reply):
    """An agent or a customer as a list shows them."""

    id: int
    name: str


# --- the widget's chat API, and the console's live view ----------------------------------------


class ChatSession(Reply):
    session: str  # the conversation id, signed, for Rasa's socket.io channel
    socket_url: str


class TranscriptView(Reply):
    """The messages after the first `after`, how many there are in all, and whether a person has
    the conversation (the bot is paused)."""

    messages: list[ChatMessage]
    total: int
    paused: bool

    @classmethod
    def after(cls, transcript: Transcript, after: int) -> TranscriptView:
        return cls(
            messages=transcript.messages[after:],
            total=len(transcript.messages),
            paused=transcript.paused,
        )


# --- console sign-in ----------------------------------------------------------------------------


class AgentView(Reply):
    id: int
    email: str
    name: str
    role: AgentRole
    session_expires_at: str


class SignedInAgent(Reply):
    agent: AgentView


# --- the conversation list, reviews and tags ----------------------------------------------------


class ListedCustomer(Reply):
    id: int
    name: str
    email: str


class ConversationRecord(Reply):
    sender_id: str
    started_at: str
    ended_at: str | None
    customer: ListedCustomer | None
    intents: list[str]
    outcome: str | None
    handoff: bool
    sentiment_average: float | None
    sentiment: Sentiment | None
    satisfaction_estimate: float | None
    csat_rating: int | None
    csat_comment: str | None
    fallback_count: int
    review_status: ReviewStatus
    notes: str
    tags: list[str]


class ConversationPage(Reply):
    items: list[ConversationRecord]
    total: int
    page: int
    page_size: int
    pages: int


class Review(Reply):
    sender_id: str
    status: ReviewStatus
    notes: str
    tags: list[str]
    updated_at: str | None
    updated_by: Named | None


class Tags(Reply):
    tags: list[str]


# --- the transcript view ------------------------------------------------------------------------


class Entity(Reply):
    entity: str | None
    value: Any
    start: int | None
    end: int | None
    role: str | None = None  # only when NLU gave one (left out otherwise)


class MessageSentiment(Reply):
    label: str
    score: float


class CustomerTurn(Reply):
    """A customer's message with what NLU made of it and the actions the bot ran in answer."""

    kind: Literal["customer"]
    text: str
    timestamp: float | None
    intent: str | None
    confidence: float | None
    entities: list[Entity]
    sentiment: MessageSentiment | None
    actions: list[str]


class ShownTurn(Reply):
    """A bot or agent message, or a notice, as the customer saw it."""

    kind: Literal["bot", "agent", "notice"]
    text: str
    timestamp: float | None
    buttons: list[dict[str, str]]
    notice: str | None = None  # on notices only
    agent_name: str | None = None  # on agent messages only


Turn = Annotated[CustomerTurn | ShownTurn, Field(discriminator="kind")]


class Decision(Reply):
    kind: str
    reason: str
    at: str
    details: dict[str, Any]  # whatever the action logged with it


class PanelCustomer(Reply):
    id: int
    name: str
    email: str
    tier: str
    value: str  # a decimal amount, as text
    since: str


class PanelOrder(Reply):
    reference: str
    status: str
    total: str
    placed_at: str


class PanelTicket(Reply):
    reference: str
    subject: str
    status: str
    priority: str
    opened_at: str


class PreviousConversation(Reply):
    sender_id: str
    started_at: str
    intents: list[str]
    outcome: str | None
    sentiment_average: float | None
    csat_rating: int | None


class CustomerStats(Reply):
    interaction_count: int
    satisfaction_average: float | None
    csat_average: float | None
    handoff_count: int
    sentiment_history: list[float]


class NextProduct(Reply):
    sku: str
    name: str
    reason: str


class CustomerInsightPanel(Reply):
    """The latest insights run's predictions for the customer, each with its reasons."""

    segment: str | None
    churn_risk: float | None
    expected_orders: float | None
    expected_value: str | None
    value_rank: float | None
    predicted_satisfaction: float | None
    next_products: list[NextProduct]
    reasons: dict[str, list[str]]
    computed_at: str
    run_id: int


class CustomerPanel(Reply):
    customer: PanelCustomer
    orders: list[PanelOrder]
    tickets: list[PanelTicket]
    previous_conversations: list[PreviousConversation]
    insights: CustomerInsightPanel | None
    stats: CustomerStats


class ConversationDetail(Reply):
    """The CRM record; the transcript as messages and as turns (both null while Rasa is down);
    the bot's decisions; the customer panel (null for a guest)."""

    conversation: ConversationRecord
    messages: list[ChatMessage] | None
    turns: list[Turn] | None
    decisions: list[Decision]
    profile: CustomerPanel | None


# --- training data -----------------------------------------------------------------------------


class Intents(Reply):
    intents: list[str]


class MarkedExample(Reply):
    file: str
    examples: int  # in the review file now
    added: bool  # False when the file had it already


class ErasureDone(Reply):
    """What erasing a customer did (supportbot.privacy.erasure.ErasureReport)."""

    customer_id: int
    conversations: int
    deleted: dict[str, int]
    anonymised: dict[str, int]
    kept: list[str]


# --- analytics ---------------------------------------------------------------------------------


class Period(Reply):
    first: str = Field(alias="from")
    last: str = Field(alias="to")


class DayVolume(Reply):
    day: str
    conversations: int


class IntentCount(Reply):
    intent: str
    conversations: int


class HourVolume(Reply):
    hour: int
    conversations: int


class Analytics(Reply):
    period: Period
    conversations: int
    volume: list[DayVolume]
    containment_rate: float | None
    handoff_rate: float | None
    fallback_rate: float | None
    average_sentiment: float | None
    average_csat: float | None
    csat_responses: int
    top_intents: list[IntentCount]
    busiest_hours: list[HourVolume]


class InsightRunInfo(Reply):
    id: int
    finished_at: str | None
    summary: dict[str, Any]
    versions: dict[str, str]


class SegmentInfo(Reply):
    label: str
    size: int
    centroid: dict[str, float]


class SegmentTrendPoint(Reply):
    run_id: int
    finished_at: str | None
    sizes: dict[str, int]


class ComplaintThemeInfo(Reply):
    label: str
    terms: list[str]
    volume: int
    change: float
    weekly_counts: list[list[Any]]  # [ISO week's Monday, count], oldest first
    examples: list[str]


class InsightsOverview(Reply):
    """What the latest insights run found across customers: segments (with their sizes over
    the last runs) and complaint themes (with example feedback)."""

    run: InsightRunInfo | None
    segments: list[SegmentInfo]
    trend: list[SegmentTrendPoint]
    themes: list[ComplaintThemeInfo]


# --- privacy -----------------------------------------------------------------------------------


class RetentionRun(Reply):
    """The last retention run (supportbot.privacy.retention.last_run): counts, or a failure's
    error type."""

    at: str
    by: str
    succeeded: bool
    retention_days: int | None = None
    cutoff: str | None = None
    expired: int | None = None
    kept: int | None = None
    erased: int | None = None
    recent: int | None = None
    error: str | None = None


class PrivacyPolicy(Reply):
    retention_days: int
    retention_interval_hours: int  # 0: only `supportbot retention run`
    keep_tag: str
    masked_entities: list[str]
    last_run: RetentionRun | None


# --- live takeover -----------------------------------------------------------------------------


class QueueItem(Reply):
    sender_id: str
    customer: Named | None
    reason: str
    priority: str
    requested_at: str
    state: HandoffState
    agent: Named | None
    claimed_at: str | None


class Queue(Reply):
    items: list[QueueItem]


class ClaimResult(Reply):
    sender_id: str
    state: Literal["claimed"]
    agent: Named


# --- admins: agents, API tokens, the audit trail -------------------------------------------------


class AgentAccount(Reply):
    id: int
    email: str
    name: str
    role: AgentRole
    active: bool
    created_at: str
    locked_until: str | None


class AgentAccounts(Reply):
    items: list[AgentAccount]


class TokenAgent(Reply):
    id: int
    email: str


class ApiToken(Reply):
    id: int
    agent: TokenAgent
    scopes: list[str]
    label: str
    created_by: int | None
    created_at: str
    expires_at: str
    revoked_at: str | None
    last_used_at: str | None
    live: bool


class ApiTokens(Reply):
    items: list[ApiToken]


class IssuedApiToken(Reply):
    """Shown once: only its hash is kept."""

    id: int
    token: str
    agent_id: int
    scopes: list[str]
    expires_at: str


class AuditRecord(Reply):
    id: int
    at: str
    actor: str
    action: str
    subject: str
    source: str
    details: dict[str, Any]


class AuditTrailPage(Reply):
    items: list[AuditRecord]
