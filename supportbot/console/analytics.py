"""The console's analytics: how many conversations a period had and how they went.

Computed in SQL over the CRM's `interactions` (one row per conversation) for whole UTC days.
The statements are the same on SQLite and PostgreSQL except for two spots: how a timestamp
becomes its UTC day or hour (`UtcDay`, `UtcHour` below), and how the JSON list of intents is
unnested (`json_each` / `json_array_elements_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, case, distinct, func, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from supportbot.console.conversations import InvalidInput
from supportbot.crm.models import Interaction

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
TOP_INTENTS = 10


class UtcDay(FunctionElement[str]):
    """'YYYY-MM-DD' of a timestamp, in UTC."""

    type = String()
    inherit_cache = True


class UtcHour(FunctionElement[int]):
    """The hour (0-23) of a timestamp, in UTC."""

    type = Integer()
    inherit_cache = True


@compiles(UtcDay)
def _day_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps the UTC wall time as text.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _day_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # A timestamptz shows in the session's time zone unless asked for UTC.
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(UtcHour)
def _hour_sqlite(element: UtcHour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%H', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(UtcHour, "postgresql")
def _hour_postgresql(element: UtcHour, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(HOUR FROM ({column}) AT TIME ZONE 'UTC') AS INTEGER)"


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def clause(self) -> ColumnElement[bool]:
        start = datetime.combine(self.first, time.min, tzinfo=UTC)
        return and_(
            Interaction.started_at >= start,
            Interaction.started_at < start + timedelta(days=self.days),
        )


def period(date_from: date | None, date_to: date | None, today: date | None = None) -> Period:
    """The period asked for; by default the last 30 days up to today (UTC)."""
    last = date_to or today or datetime.now(UTC).date()
    first = date_from or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last and date_to is None:
        raise InvalidInput("date_from", "must not be after today (UTC) when date_to is not set")
    if first > last:
        raise InvalidInput("date_to", "must not be before date_from")
    chosen = Period(first, last)
    if chosen.days > MAX_PERIOD_DAYS:
        raise InvalidInput("date_from", f"a period spans at most {MAX_PERIOD_DAYS} days")
    return chosen


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _top_intents(session: Session, chosen: Period) -> list[dict[str, Any]]:
    unnest = (
        func.json_array_elements_text
        if session.get_bind().dialect.name == "postgresql"
        else func.json_each
    )
    intent = unnest(Interaction.intents).table_valued("value").alias("intent")
    conversations = func.count(distinct(Interaction.id)).label("conversations")
    rows = session.execute(
        select(intent.c.value, conversations)
        .select_from(Interaction)
        .join(intent, true())  # each conversation with each of its intents
        .where(chosen.clause())
        .group_by(intent.c.value)
        .order_by(conversations.desc(), intent.c.value)
        .limit(TOP_INTENTS)
    )
    return [{"intent": name, "conversations": count} for name, count in rows]


def analytics(session: Session, chosen: Period) -> dict[str, Any]:
    """The figures of the console's analytics page for `chosen` (see the README)."""
    in_period = chosen.clause()
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Interaction.handoff.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Interaction.fallback_count > 0, 1), else_=0)), 0),
            func.avg(Interaction.sentiment_average),
            func.avg(Interaction.csat_rating),
            func.count(Interaction.csat_rating),
        ).where(in_period)
    ).one()
    conversations, handoffs, with_fallback, sentiment, csat, csat_responses = totals
    day = UtcDay(Interaction.started_at)
    per_day: dict[str, int] = dict(
        session.execute(select(day, func.count()).where(in_period).group_by(day)).all()
    )
    hour = UtcHour(Interaction.started_at)
    per_hour: dict[int, int] = dict(
        session.execute(select(hour, func.count()).where(in_period).group_by(hour)).all()
    )
    days = [chosen.first + timedelta(days=n) for n in range(chosen.days)]
    return {
        "period": {"from": chosen.first.isoformat(), "to": chosen.last.isoformat()},
        "conversations": conversations,
        "volume": [
            {"day": d.isoformat(), "conversations": per_day.get(d.isoformat(), 0)} for d in days
        ],
        "containment_rate": _rate(conversations - handoffs, conversations),
        "handoff_rate": _rate(handoffs, conversations),
        "fallback_rate": _rate(with_fallback, conversations),
        "average_sentiment": _rounded(sentiment, 4),
        "average_csat": _rounded(csat, 2),
        "csat_responses": csat_responses,
        "top_intents": _top_intents(session, chosen) if conversations else [],
        "busiest_hours": [{"hour": h, "conversations": per_hour.get(h, 0)} for h in range(24)],
    }
