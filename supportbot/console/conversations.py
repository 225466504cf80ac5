"""The console's conversation list (search, filters, paging), reviews and tags, and exports.

Everything reads the CRM's `interactions` (one row per conversation) with their customer, review
and tags. Queries are portable between SQLite and PostgreSQL; see `_intent_clause` for the JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Select, Text, and_, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from supportbot.console.models import Agent, ConversationReview, ConversationTag, ReviewStatus
from supportbot.crm.models import Customer, Interaction, utc_iso, utcnow
from supportbot.crm.stored_text import masked

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_NOTES_LENGTH = 5000
MAX_TAGS_PER_CONVERSATION = 20
# Sentiment bands of a conversation's average message score in [-1, 1].
NEGATIVE_BELOW, POSITIVE_ABOVE = -0.25, 0.25
_TAG = re.compile(r"^[a-z0-9_-]{1,40}$")
_INTENT = r"^[A-Za-z0-9_]{1,80}$"
_EXPORT_BATCH = 1000

Sentiment = Literal["negative", "neutral", "positive"]


class ConversationNotFound(LookupError):
    pass


class InvalidInput(ValueError):
    """Bad input for one field; `field` names it so the API can say which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalise_tag(tag: str) -> str:
    value = tag.strip().lower()
    if not _TAG.match(value):
        raise InvalidInput("tag", "a tag has 1 to 40 letters, digits, '-' or '_'")
    return value


class ConversationFilter(BaseModel):
    """The list's filters. Empty strings count as "not set", as an HTML form sends them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    q: str | None = Field(default=None, max_length=200, description="free text")
    date_from: date | None = None
    date_to: date | None = None
    intent: str | None = Field(default=None, pattern=_INTENT)
    sentiment: Sentiment | None = None
    handoff: bool | None = None
    csat: str | None = Field(default=None, pattern=r"^([1-5]|rated|unrated)$")
    review_status: ReviewStatus | None = None
    tag: str | None = Field(default=None, max_length=40)
    customer: str | None = Field(default=None, max_length=254, description="id or email")

    @field_validator("*", mode="before")
    @classmethod
    def blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("tag")
    @classmethod
    def valid_tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_tag(value)
        except InvalidInput as error:
            raise ValueError(error.message) from None

    @field_validator("customer")
    @classmethod
    def id_or_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.isdigit() or ("@" in value and " " not in value):
            return value.lower()
        raise ValueError("a customer is given by id (digits) or email address")

    @field_validator("date_to")
    @classmethod
    def not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError("must not be before date_from")
        return value


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _intent_clause(intent: str) -> ColumnElement[bool]:
    # The intents column is a JSON list of names. Its text contains `"name"` exactly when the
    # list has that element: names are [A-Za-z0-9_] (validated), so they never need JSON escaping
    # and the quotes stop a prefix from matching. The same SQL works on SQLite and PostgreSQL.
    pattern = _like_pattern(f'"{intent}"')
    return cast(Interaction.intents, Text).like(pattern, escape="\\")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _where(f: ConversationFilter) -> list[ColumnElement[bool]]:
    """Conditions on `interactions` alone: customers, reviews and tags are matched in IN
    subqueries, so no join multiplies the rows the planner has to guess about (PostgreSQL
    guesses one row for the JSON LIKE and then nested-loops over every customer)."""
    clauses: list[ColumnElement[bool]] = []
    if f.q:
        pattern = _like_pattern(f.q.lower())
        clauses.append(
            or_(
                func.lower(Interaction.sender_id).like(pattern, escape="\\"),
                Interaction.customer_id.in_(
                    select(Customer.id).where(
                        or_(
                            func.lower(Customer.name).like(pattern, escape="\\"),
                            func.lower(Customer.email).like(pattern, escape="\\"),
                        )
                    )
                ),
                Interaction.sender_id.in_(
                    select(ConversationReview.sender_id).where(
                        func.lower(ConversationReview.notes).like(pattern, escape="\\")
                    )
                ),
                Interaction.sender_id.in_(
                    select(ConversationTag.sender_id).where(
                        ConversationTag.tag.like(pattern, escape="\\")
                    )
                ),
            )
        )
    if f.date_from:
        clauses.append(Interaction.started_at >= _day_start(f.date_from))
    if f.date_to:  # inclusive: the whole day
        clauses.append(Interaction.started_at < _day_start(f.date_to + timedelta(days=1)))
    if f.intent:
        clauses.append(_intent_clause(f.intent))
    if f.sentiment == "negative":
        clauses.append(Interaction.sentiment_average < NEGATIVE_BELOW)
    elif f.sentiment == "positive":
        clauses.append(Interaction.sentiment_average > POSITIVE_ABOVE)
    elif f.sentiment == "neutral":
        clauses.append(Interaction.sentiment_average.between(NEGATIVE_BELOW, POSITIVE_ABOVE))
    if f.handoff is not None:
        clauses.append(Interaction.handoff.is_(f.handoff))
    if f.csat == "rated":
        clauses.append(Interaction.csat_rating.is_not(None))
    elif f.csat == "unrated":
        clauses.append(Interaction.csat_rating.is_(None))
    elif f.csat:
        clauses.append(Interaction.csat_rating == int(f.csat))
    if f.review_status == ReviewStatus.NEW:  # no review row counts as new
        clauses.append(
            Interaction.sender_id.not_in(
                select(ConversationReview.sender_id).where(
                    ConversationReview.status != ReviewStatus.NEW
                )
            )
        )
    elif f.review_status:
        clauses.append(
            Interaction.sender_id.in_(
                select(ConversationReview.sender_id).where(
                    ConversationReview.status == f.review_status
                )
            )
        )
    if f.tag:
        clauses.append(
            Interaction.sender_id.in_(
                select(ConversationTag.sender_id).where(ConversationTag.tag == f.tag)
            )
        )
    if f.customer and f.customer.isdigit():
        clauses.append(Interaction.customer_id == int(f.customer))
    elif f.customer:
        clauses.append(
            Interaction.customer_id.in_(select(Customer.id).where(Customer.email == f.customer))
        )
    return clauses


_COLUMNS = (
    Interaction.id,
    Interaction.sender_id,
    Interaction.started_at,
    Interaction.ended_at,
    Interaction.customer_id,
    Customer.name,
    Customer.email,
    Interaction.intents,
    Interaction.outcome,
    Interaction.handoff,
    Interaction.sentiment_average,
    Interaction.satisfaction_estimate,
    Interaction.csat_rating,
    Interaction.csat_comment,
    Interaction.fallback_count,
    ConversationReview.status,
    ConversationReview.notes,
)
# Newest first; the id breaks ties so paging is stable.
_NEWEST_FIRST = (Interaction.started_at.desc(), Interaction.id.desc())


def _matching_ids(f: ConversationFilter) -> Select:
    return select(Interaction.id).where(and_(True, *_where(f))).order_by(*_NEWEST_FIRST)


def _details(session: Session, interaction_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The list records of these interactions, in the given order."""
    if not interaction_ids:
        return []
    rows = session.execute(
        select(*_COLUMNS)
        .select_from(Interaction)
        .outerjoin(Customer, Customer.id == Interaction.customer_id)
        .outerjoin(ConversationReview, ConversationReview.sender_id == Interaction.sender_id)
        .where(Interaction.id.in_(interaction_ids))
    ).all()
    by_id = {row.id: row for row in rows}
    tags = _tags_of(session, (row.sender_id for row in rows))
    return [_record(by_id[i], tags[by_id[i].sender_id]) for i in interaction_ids if i in by_id]


def sentiment_band(average: float | None) -> Sentiment | None:
    if average is None:
        return None
    if average < NEGATIVE_BELOW:
        return "negative"
    return "positive" if average > POSITIVE_ABOVE else "neutral"


def _record(row: Any, tags: Sequence[str]) -> dict[str, Any]:
    customer = (
        None
        if row.customer_id is None
        else {"id": row.customer_id, "name": row.name, "email": row.email}
    )
    return {
        "sender_id": row.sender_id,
        "started_at": utc_iso(row.started_at),
        "ended_at": utc_iso(row.ended_at),
        "customer": customer,
        "intents": list(row.intents or []),
        "outcome": row.outcome,
        "handoff": bool(row.handoff),
        "sentiment_average": row.sentiment_average,
        "sentiment": sentiment_band(row.sentiment_average),
        "satisfaction_estimate": row.satisfaction_estimate,
        "csat_rating": row.csat_rating,
        "csat_comment": row.csat_comment,
        "fallback_count": row.fallback_count,
        "review_status": (row.status or ReviewStatus.NEW).value,
        "notes": row.notes or "",
        "tags": list(tags),
    }


def _tags_of(session: Session, sender_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(sender_ids)
    tags: dict[str, list[str]] = {sender_id: [] for sender_id in ids}
    if ids:
        for sender_id, tag in session.execute(
            select(ConversationTag.sender_id, ConversationTag.tag)
            .where(ConversationTag.sender_id.in_(ids))
            .order_by(ConversationTag.tag)
        ):
            tags[sender_id].append(tag)
    return tags


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
        }


def list_conversations(
    session: Session,
    f: ConversationFilter,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page:
    """One page of the conversations matching `f`, newest first, with the total count."""
    if page < 1:
        raise InvalidInput("page", "must be at least 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    total = session.scalar(
        select(func.count()).select_from(Interaction).where(and_(True, *_where(f)))
    )
    ids = session.scalars(_matching_ids(f).limit(page_size).offset((page - 1) * page_size))
    return Page(
        items=_details(session, list(ids)), total=total or 0, page=page, page_size=page_size
    )


def iter_conversations(session: Session, f: ConversationFilter) -> Iterator[dict[str, Any]]:
    """Every conversation matching `f`, newest first (for exports), fetched in batches."""
    ids = list(session.scalars(_matching_ids(f)))
    for start in range(0, len(ids), _EXPORT_BATCH):
        yield from _details(session, ids[start : start + _EXPORT_BATCH])


def conversation(session: Session, sender_id: str) -> dict[str, Any]:
    interaction_id = session.scalar(
        select(Interaction.id).where(Interaction.sender_id == sender_id)
    )
    if interaction_id is None:
        raise ConversationNotFound(sender_id)
    return _details(session, [interaction_id])[0]


# --- reviews and tags ---------------------------------------------------------------------


def _require(session: Session, sender_id: str) -> None:
    if session.scalar(select(Interaction.id).where(Interaction.sender_id == sender_id)) is None:
        raise ConversationNotFound(sender_id)


def review(session: Session, sender_id: str) -> dict[str, Any]:
    """The review of a conversation (status new, no notes, when nobody has reviewed it)."""
    _require(session, sender_id)
    row = session.execute(
        select(ConversationReview, Agent.name)
        .outerjoin(Agent, Agent.id == ConversationReview.updated_by)
        .where(ConversationReview.sender_id == sender_id)
    ).one_or_none()
    tags = _tags_of(session, [sender_id])[sender_id]
    if row is None:
        return {
            "sender_id": sender_id,
            "status": ReviewStatus.NEW.value,
            "notes": "",
            "tags": tags,
            "updated_at": None,
            "updated_by": None,
        }
    item, agent_name = row
    return {
        "sender_id": sender_id,
        "status": item.status.value,
        "notes": item.notes,
        "tags": tags,
        "updated_at": utc_iso(item.updated_at),
        "updated_by": None
        if item.updated_by is None
        else {"id": item.updated_by, "name": agent_name},
    }


def update_review(
    session: Session,
    sender_id: str,
    *,
    agent_id: int | None,
    status: ReviewStatus | str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Set the status and/or notes (what is None stays as it is)."""
    if status is not None:
        try:
            status = ReviewStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in ReviewStatus)
            raise InvalidInput("status", f"must be one of {choices}") from None
    if notes is not None:
        notes = notes.strip()
        if len(notes) > MAX_NOTES_LENGTH:
            raise InvalidInput("notes", f"at most {MAX_NOTES_LENGTH} characters")
    _require(session, sender_id)
    item = session.get(ConversationReview, sender_id)
    if item is None:
        item = ConversationReview(sender_id=sender_id, status=ReviewStatus.NEW, notes="")
        session.add(item)
    if status is not None:
        item.status = status
    if notes is not None:
        item.notes = masked(notes)  # agents may copy what a customer typed
    item.updated_at = utcnow()
    item.updated_by = agent_id
    session.flush()
    return review(session, sender_id)


def add_tag(session: Session, sender_id: str, tag: str, *, agent_id: int | None) -> list[str]:
    tag = normalise_tag(tag)
    _require(session, sender_id)
    tags = _tags_of(session, [sender_id])[sender_id]
    if tag in tags:
        return tags
    if len(tags) >= MAX_TAGS_PER_CONVERSATION:
        raise InvalidInput("tag", f"a conversation has at most {MAX_TAGS_PER_CONVERSATION} tags")
    session.add(ConversationTag(sender_id=sender_id, tag=tag, created_by=agent_id))
    session.flush()
    return sorted([*tags, tag])


def remove_tag(session: Session, sender_id: str, tag: str) -> list[str]:
    tag = normalise_tag(tag)
    _require(session, sender_id)
    session.execute(
        delete(ConversationTag).where(
            ConversationTag.sender_id == sender_id, ConversationTag.tag == tag
        )
    )
    return _tags_of(session, [sender_id])[sender_id]


# --- exports ------------------------------------------------------------------------------

# Free text in a conversation's record: the customer's CSAT comment and the agents' notes (which
# may quote the customer). Exports mask personal data in them and in every message's text.
FREE_TEXT_FIELDS = ("csat_comment", "notes")


def masked_record(record: dict[str, Any], mask: Callable[[str], str]) -> dict[str, Any]:
    """The record with its free text masked, and the customer's name and email too when their
    types are masked (an export must not hold in a column what it masks in the text)."""
    masked = {**record, **{name: mask(record[name]) for name in FREE_TEXT_FIELDS if record[name]}}
    customer = record.get("customer")
    if customer:
        masked["customer"] = {
            **customer,
            **{field: mask(customer[field]) for field in ("name", "email") if customer.get(field)},
        }
    return masked


def masked_messages(
    messages: Iterable[dict[str, Any]], mask: Callable[[str], str]
) -> list[dict[str, Any]]:
    return [{**m, "text": mask(m["text"])} if m.get("text") else m for m in messages]


CSV_COLUMNS = (
    "sender_id",
    "started_at",
    "ended_at",
    "customer_id",
    "customer_name",
    "customer_email",
    "intents",
    "outcome",
    "handoff",
    "sentiment_average",
    "sentiment",
    "satisfaction_estimate",
    "csat_rating",
    "csat_comment",
    "fallback_count",
    "review_status",
    "tags",
    "notes",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text cells that a spreadsheet would run as a formula get a leading quote.

    Numbers stay numbers (a negative sentiment is data, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _flat(record: dict[str, Any]) -> list[Any]:
    customer = record["customer"] or {}
    values = {
        **record,
        "customer_id": customer.get("id"),
        "customer_name": customer.get("name"),
        "customer_email": customer.get("email"),
        "intents": " ".join(record["intents"]),
        "tags": " ".join(record["tags"]),
        "handoff": "yes" if record["handoff"] else "no",
    }
    return [safe_cell("" if values[c] is None else values[c]) for c in CSV_COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_flat(record) for record in records)
    return out.getvalue()


TRANSCRIPT_CSV_COLUMNS = ("sender_id", "index", "timestamp", "sender", "text")


def transcript_to_csv(sender_id: str, messages: Sequence[dict[str, Any]]) -> str:
    """One conversation's transcript, a row per message (the set export has its other fields)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(TRANSCRIPT_CSV_COLUMNS)
    for index, message in enumerate(messages):
        timestamp = message.get("timestamp")
        writer.writerow(
            [
                safe_cell(sender_id),
                index,
                "" if timestamp is None else timestamp,
                safe_cell(message.get("sender", "")),
                safe_cell(message.get("text", "")),
            ]
        )
    return out.getvalue()


def to_json(records: Iterable[dict[str, Any]]) -> str:
    return json.dumps({"conversations": list(records)}, ensure_ascii=False, indent=1)
