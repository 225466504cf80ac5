"""Failed verifications counted in the CRM, per email, per order number and per client.

After a failed order-number-plus-email check each of the three must wait before the next try,
twice as long after each further failure; after `max_failures` the wait becomes a lock (and
doubles from there). The counts live in the CRM, not in the conversation, so a client cannot
reset them, and every try is counted alike whether the email or the order exists, so a refusal
says nothing about either. What was tried is stored only as an HMAC under a key derived from a
server secret.

The check, the verification and the count run in one transaction, and the rows are taken first
and locked (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite serialises writers), so tries racing
on one email wait for each other instead of each seeing the count before the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from common.keyed_hashes import keyed_hash
from supportbot.crm.models import VerificationFailure, as_utc

# A key whose last failure is this old starts again from nothing (and its row is purged).
FORGET_AFTER = timedelta(hours=24)
MAX_CLIENT_LENGTH = 512


@dataclass(frozen=True)
class GuardRules:
    """How long to wait after n failures: delay * 2^(n-1), then from max_failures on a lock of
    lock * 2^(n - max_failures), never longer than FORGET_AFTER."""

    max_failures: int = 5
    delay: timedelta = timedelta(seconds=2)
    lock: timedelta = timedelta(minutes=15)

    def wait_after(self, failures: int) -> timedelta:
        if failures <= 0:
            return timedelta(0)
        if failures < self.max_failures:
            wait = self.delay * 2 ** (failures - 1)
        else:
            wait = self.lock * 2 ** min(failures - self.max_failures, 16)
        return min(wait, FORGET_AFTER)


@dataclass(frozen=True)
class GuardKeys:
    """The keyed hashes one try is counted under."""

    email: str
    order: str
    client: str

    def by_kind(self) -> dict[str, str]:
        return {"email": self.email, "order": self.order, "client": self.client}


def guard_keys(secret: str, *, email: str, order_number: str, client: str) -> GuardKeys:
    """Hash what a try names (the canonical email and order number, and the client) under a key
    of its own derived from `secret`."""

    def mac(kind: str, value: str) -> str:
        return keyed_hash(secret, "verification guard", f"{kind}:{value}", length=64)

    return GuardKeys(
        email=mac("email", email),
        order=mac("order", order_number),
        client=mac("client", client[:MAX_CLIENT_LENGTH]),
    )


class VerificationGuard:
    """The failure counts, over the caller's session (the verification's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def refused_until(self, keys: GuardKeys, rules: GuardRules, now: datetime) -> datetime | None:
        """When a try with these keys may come, if not now; locks the keys' rows till commit."""
        rows = self._take(keys, now)
        allowed = now
        for row in rows:
            last = as_utc(row.last_failure_at)
            if row.failures and now - last < FORGET_AFTER:
                allowed = max(allowed, last + rules.wait_after(row.failures))
        return allowed if allowed > now else None

    def record_failure(self, keys: GuardKeys, now: datetime) -> None:
        for row in self._take(keys, now):
            stale = now - as_utc(row.last_failure_at) >= FORGET_AFTER
            row.failures = 1 if stale else row.failures + 1
            row.last_failure_at = now
        self.session.execute(
            delete(VerificationFailure).where(
                VerificationFailure.last_failure_at < now - FORGET_AFTER
            )
        )

    def record_success(self, keys: GuardKeys) -> None:
        """The email and the order number proved right: their failures were someone's typos.
        The client's stay; a client guessing other emails between its own successes keeps
        its count."""
        self.session.execute(
            delete(VerificationFailure).where(
                VerificationFailure.key.in_([keys.email, keys.order])
                | ((VerificationFailure.key == keys.client) & (VerificationFailure.failures == 0))
            )
        )

    def _take(self, keys: GuardKeys, now: datetime) -> list[VerificationFailure]:
        """The keys' rows, created if missing, locked for the rest of the transaction."""
        values = [
            {"key": key, "kind": kind, "failures": 0, "last_failure_at": now}
            for kind, key in keys.by_kind().items()
        ]
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(insert(VerificationFailure).values(values).on_conflict_do_nothing())
        return list(
            self.session.scalars(
                select(VerificationFailure)
                .where(VerificationFailure.key.in_(list(keys.by_kind().values())))
                .order_by(VerificationFailure.key)  # one lock order for every transaction
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
