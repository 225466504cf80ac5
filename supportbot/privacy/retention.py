"""Retention: conversations nobody touched for `retention_days` are erased, unless an agent
tagged them `keep` in the console.

A conversation is its Rasa sender id. Its last activity is the newest of its tracker events and
of its CRM interaction's moments (start, end, verification, CSAT). Erasing goes through
`supportbot.privacy.erasure.erase_conversations` (tracker events deleted, the CRM's free text
anonymised), so a retention run and an erasure request leave the same traces. Each real run is
recorded in the audit trail (counts only), which is where the console reads the last one from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, column, create_engine, func, inspect, or_, select, table
from sqlalchemy.orm import Session

from supportbot.console.audit import AuditTrail
from supportbot.console.models import AuditEntry, ConversationTag
from supportbot.crm.models import Interaction, utc_iso, utcnow
from supportbot.privacy.erasure import erase_conversations, read_erasure_log, unfinished
from supportbot.settings import Settings
from supportbot.store import crm_session

# The console tag that exempts a conversation from retention (supportbot.console.conversations).
KEEP_TAG = "keep"
RUN_ACTION = "retention.run"
FAILED_ACTION = "retention.failed"
# Who ran it, in the audit trail and the erasure log: `supportbot run`'s schedule (the command
# line is "cli").
SCHEDULE_ACTOR = "schedule"
# Conversations erased per call of erase_conversations: progress shows, a failure loses little.
BATCH = 200

# Rasa's tracker store table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent): only the
# columns retention reads.
_events = table("events", column("sender_id"), column("timestamp"))


@dataclass(frozen=True)
class RetentionReport:
    """What one run found and did: counts only, no sender id or text."""

    retention_days: int
    cutoff: datetime
    expired: int  # conversations whose last activity is before the cutoff
    kept: int  # of those, tagged `keep` by an agent
    erased: int
    recent: int  # conversations with activity since the cutoff, untouched
    dry_run: bool

    def summary(self) -> str:
        erased = (
            f"would erase {self.expired - self.kept}" if self.dry_run else f"erased {self.erased}"
        )
        return (
            f"Retention ({self.retention_days} days, last activity before "
            f"{self.cutoff:%Y-%m-%d %H:%M} UTC): {self.expired} expired conversations, {erased}, "
            f"kept {self.kept} tagged '{KEEP_TAG}'; {self.recent} recent ones untouched"
        )

    def details(self) -> dict[str, Any]:
        return {
            "retention_days": self.retention_days,
            "cutoff": utc_iso(self.cutoff),
            "expired": self.expired,
            "kept": self.kept,
            "erased": self.erased,
            "recent": self.recent,
        }


def run_retention(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    progress: Callable[[str], None] = print,
) -> RetentionReport:
    """Erase the expired conversations (or, with `dry_run`, only count them) and record the run.

    A failure is recorded in the audit trail as `retention.failed` (the error's type only) when
    the CRM can still be written, then raised; what was erased before it stays erased."""
    cutoff = (now or utcnow()) - timedelta(days=settings.privacy.retention_days)
    try:
        expired, kept, recent = _expired_conversations(settings, cutoff)
        progress(
            f"{len(expired) + len(kept)} conversations with no activity since "
            f"{cutoff:%Y-%m-%d %H:%M} UTC, {len(kept)} of them tagged '{KEEP_TAG}'"
        )
        erased = 0
        if not dry_run:
            for start in range(0, len(expired), BATCH):
                batch = expired[start : start + BATCH]
                erased += erase_conversations(settings, batch, reason="retention", actor=actor)
                progress(f"erased {start + len(batch)}/{len(expired)}")
    except Exception as error:
        if not dry_run:
            _record_failure(settings, actor, error)
        raise
    report = RetentionReport(
        retention_days=settings.privacy.retention_days,
        cutoff=cutoff,
        expired=len(expired) + len(kept),
        kept=len(kept),
        erased=erased,
        recent=recent,
        dry_run=dry_run,
    )
    if not dry_run:
        with crm_session(settings.database_url) as crm:
            AuditTrail(crm.session).record(actor, RUN_ACTION, details=report.details())
    return report


def _record_failure(settings: Settings, actor: str, error: Exception) -> None:
    try:
        with crm_session(settings.database_url) as crm:
            AuditTrail(crm.session).record(
                actor, FAILED_ACTION, details={"error": type(error).__name__}
            )
    except Exception:
        pass  # the CRM itself may be what failed: the caller reports the error


def _expired_conversations(
    settings: Settings, cutoff: datetime
) -> tuple[list[str], list[str], int]:
    """(to erase, kept for their tag, how many are recent), sender ids in a stable order."""
    logged = {
        sender
        for entry in read_erasure_log(settings.privacy.erasure_log)
        for sender in entry.get("conversations") or ()
    }
    with crm_session(settings.database_url) as crm:
        crm_old, crm_recent = _crm_activity(crm.session, cutoff)
        flagged = set(
            crm.session.scalars(
                select(ConversationTag.sender_id).where(ConversationTag.tag == KEEP_TAG)
            )
        )
        # An erased conversation keeps its anonymised interaction (the figures): with nothing
        # of the person left it has nothing more to erase, and erasing it again every run would
        # only grow the erasure log. One whose CRM step never committed, or with tracker events
        # (new ones, or a restore brought them back), is erased.
        logged_old = crm_old & logged
        erased = logged_old - unfinished(crm.session, logged_old)
    tracker_old, tracker_recent = _tracker_activity(settings.tracker_store_url, cutoff)
    recent = crm_recent | tracker_recent
    expired = ((crm_old - erased) | tracker_old) - recent
    return sorted(expired - flagged), sorted(expired & flagged), len(recent)


def _crm_activity(session: Session, cutoff: datetime) -> tuple[set[str], set[str]]:
    # A moment not reached (NULL) counts as the start, so that NOT(active) is never NULL.
    moments = (Interaction.ended_at, Interaction.verified_at, Interaction.csat_at)
    active = or_(
        Interaction.started_at >= cutoff,
        *(func.coalesce(moment, Interaction.started_at) >= cutoff for moment in moments),
    )
    recent = set(session.scalars(select(Interaction.sender_id).where(active)))
    old = set(session.scalars(select(Interaction.sender_id).where(~active)))
    return old, recent


def _tracker_activity(url: str | None, cutoff: datetime) -> tuple[set[str], set[str]]:
    if url is None:
        return set(), set()
    with _tracker_engine(url) as engine, engine.connect() as connection:
        # No table yet: Rasa creates it when it first starts.
        if not inspect(connection).has_table("events"):
            return set(), set()
        last = func.max(_events.c.timestamp)
        by_sender = select(_events.c.sender_id).group_by(_events.c.sender_id)
        moment = cutoff.timestamp()
        old = set(connection.scalars(by_sender.having(last < moment)))
        recent = set(connection.scalars(by_sender.having(last >= moment)))
    return old, recent


@contextmanager
def _tracker_engine(url: str) -> Iterator[Engine]:
    # An engine of its own, without the CRM's SQLite settings: the file is Rasa's.
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


class RetentionSchedule:
    """The retention job in a thread of its own, so that `supportbot run` keeps watching its
    processes: once at start, then every `retention_interval_hours`. A failed run is reported
    by the error's type only (its message may quote a row) and tried again at the next turn."""

    def __init__(
        self,
        settings: Settings,
        *,
        interval_seconds: float | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.interval_seconds = (
            settings.privacy.retention_interval_hours * 3600.0
            if interval_seconds is None
            else interval_seconds
        )
        self.report = report
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        hours = self.interval_seconds / 3600
        while not self._stopped.is_set():
            try:
                done = run_retention(self.settings, actor=SCHEDULE_ACTOR, progress=_quiet)
                self.report(f"== {done.summary()}")
            except Exception as error:
                self.report(
                    f"== Retention run failed ({type(error).__name__}); trying again in {hours:g} h"
                )
            self._stopped.wait(self.interval_seconds)


def _quiet(_: str) -> None:
    """The schedule reports a run's summary, not its progress."""


def last_run(session: Session) -> dict[str, Any] | None:
    """The newest run or failure in the audit trail: when, by whom, and its counts."""
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_((RUN_ACTION, FAILED_ACTION)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    return {
        "at": utc_iso(entry.at),
        "by": entry.actor,
        "succeeded": entry.action == RUN_ACTION,
        **entry.details,
    }
