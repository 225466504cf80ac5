"""Agent accounts, console sessions and the login lockout.

Passwords are hashed with argon2id at OWASP's parameters (the PHC string carries them); hashes
of the older scrypt scheme still verify and are replaced at the agent's next successful login.
Failed logins are counted on the agent's row, so every worker sees them: too many within the
window lock the account for a while, and a locked account is refused exactly like a wrong
password. Every refused login is written to the audit trail. Sessions are random tokens of
which only a SHA-256 is stored, with an absolute expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from supportbot.console.audit import AuditTrail, Source, agent_actor, pseudonym
from supportbot.console.models import Agent, AgentRole, AgentSession
from supportbot.crm.customer_input import parse_email
from supportbot.crm.models import as_utc, utcnow
from supportbot.settings import Settings

# ASVS 4.0.3, 2.1.1: at least 12 characters for a new or changed password.
MIN_PASSWORD_LENGTH = 12
# Hashing cost grows with the input only a little, but there is no reason to accept megabytes.
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 120
# OWASP's Password Storage Cheat Sheet: argon2id, 19 MiB, 2 passes, 1 lane (~27 ms here,
# against ~480 ms and 128 MiB for scrypt at N=2^17; see the report of issue 15).
ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM = 19 * 1024, 2, 1
# Bounds on the parameters of a stored hash, so a tampered row cannot make us allocate gigabytes.
_MAX_ARGON2_MEMORY_KIB, _MAX_ARGON2_TIME_COST, _MAX_ARGON2_PARALLELISM = 256 * 1024, 10, 8
_KEY_LENGTH = 32
# Don't write last_seen_at on every request.
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)
REFUSED = "wrong email or password"


class AuthError(Exception):
    """Login refused; the message is the same whatever the reason, so it reveals nothing."""


class AgentError(ValueError):
    """An agent cannot be created or changed as asked (the message says why)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=_KEY_LENGTH,
        salt_len=16,
        type=Type.ID,
    )


def password_hasher() -> PasswordHasher:
    """The hasher at the current parameters (read at each call, so tests can lower them)."""
    return _hasher(ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM)


def hash_password(password: str) -> str:
    """A new or changed password's argon2id PHC string; refuses one that breaks the rules."""
    check_password(password)
    return password_hasher().hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scheme before issue 15: 'scrypt$N$r$p$salt$key' (N=2^14, r=8, p=1 by default)."""
    scheme, n, r, p, salt, key = stored.split("$")
    if scheme != "scrypt":
        return False
    n_, r_, p_ = int(n), int(r), int(p)
    if not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16):
        return False
    candidate = hashlib.scrypt(
        password.encode(),
        salt=_unb64(salt),
        n=n_,
        r=r_,
        p=p_,
        dklen=_KEY_LENGTH,
        maxmem=128 * r_ * n_ + 2**20,
    )
    return hmac.compare_digest(candidate, _unb64(key))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash, argon2id or the older scrypt."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        if stored.startswith("scrypt$"):
            return _verify_scrypt(password, stored)
        found = extract_parameters(stored)
        if (
            found.type is not Type.ID
            or found.memory_cost > _MAX_ARGON2_MEMORY_KIB
            or found.time_cost > _MAX_ARGON2_TIME_COST
            or found.parallelism > _MAX_ARGON2_PARALLELISM
        ):
            return False
        return password_hasher().verify(stored, password)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a verified hash is of an older scheme or weaker parameters than today's."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return password_hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(16))


def dummy_hash() -> str:
    """Checked against when the email is unknown, so a login takes as long either way."""
    return _dummy_hash(ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AgentError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def normalise_email(email: str) -> str:
    # The same rule as customers' addresses (supportbot.crm.customer_input).
    parsed = parse_email(email) if len(email) <= 254 else None
    if parsed is None:
        raise AgentError("that is not an email address")
    return parsed


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes into the cookie, nowhere else."""

    token: str
    agent_id: int
    expires_at: datetime


@dataclass(frozen=True)
class CurrentAgent:
    """Who is asking: a console session (`scopes` None: everything the role allows) or an API
    token limited to its scopes (supportbot.console.tokens)."""

    id: int
    email: str
    name: str
    session_expires_at: datetime
    role: AgentRole = AgentRole.AGENT
    scopes: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is AgentRole.ADMIN

    @classmethod
    def of(cls, agent: Agent, expires_at: datetime) -> CurrentAgent:
        """An agent acting outside a console session (a command run by the agent)."""
        return cls(agent.id, agent.email, agent.name, expires_at, role=agent.role)


@dataclass(frozen=True)
class LoginPolicy:
    """The lockout: `max_failures` wrong passwords within `window` lock the account for
    `lockout` (SUPPORTBOT_LOGIN_MAX_FAILURES, _FAILURE_WINDOW, _LOCKOUT)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def of(cls, settings: Settings) -> LoginPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_failure_window_seconds),
            lockout=timedelta(seconds=settings.login_lockout_seconds),
        )


class Agents:
    """Agent accounts and their sessions, over the caller's session (one transaction).

    `clock` gives the current UTC time (injected by tests of the lockout)."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.audit = AuditTrail(session)

    def create(
        self, email: str, name: str, password: str, role: AgentRole = AgentRole.AGENT
    ) -> Agent:
        email = normalise_email(email)
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise AgentError(f"a name has 1 to {MAX_NAME_LENGTH} characters")
        if self.find_by_email(email) is not None:
            raise AgentError(f"an agent with the email {email} already exists")
        agent = Agent(
            email=email,
            name=name,
            password_hash=hash_password(password),
            active=True,
            role=AgentRole(role),
        )
        try:
            with self.session.begin_nested():
                self.session.add(agent)
        except IntegrityError:  # created concurrently
            raise AgentError(f"an agent with the email {email} already exists") from None
        return agent

    def find_by_email(self, email: str) -> Agent | None:
        return self.session.scalar(select(Agent).where(Agent.email == email.strip().lower()))

    def named(self, email: str) -> Agent:
        """The agent with this email; AgentError if there is none."""
        agent = self.find_by_email(email)
        if agent is None:
            raise AgentError("no agent has that email address")
        return agent

    def get(self, agent_id: int) -> Agent:
        agent = self.session.get(Agent, agent_id)
        if agent is None:
            raise AgentError("no such agent")
        return agent

    def all(self) -> list[Agent]:
        return list(self.session.scalars(select(Agent).order_by(Agent.id)))

    def set_password(self, agent: Agent, password: str) -> None:
        """A changed password follows the rules of a new one."""
        agent.password_hash = hash_password(password)
        self.unlock(agent)

    def unlock(self, agent: Agent) -> None:
        """Lift a lockout before its time (someone locked a colleague out on purpose)."""
        agent.failed_logins, agent.failures_since, agent.locked_until = 0, None, None

    def set_role(self, agent: Agent, role: AgentRole) -> None:
        agent.role = AgentRole(role)

    def set_active(self, email: str, active: bool) -> Agent:
        agent = self.named(email)
        agent.active = active
        if not active:
            self.session.execute(
                delete(AgentSession).where(AgentSession.agent_id == agent.id),
                execution_options={"synchronize_session": False},
            )
        return agent

    def check_credentials(
        self, email: str, password: str, *, source: Source, policy: LoginPolicy
    ) -> Agent | None:
        """The active agent these credentials name, or None; either way the attempt is counted.

        One password check whatever the case (an unknown email is checked against a dummy hash
        of the same cost), so the answer's timing tells nothing. Every attempt is audited; a wrong
        password counts towards the lockout, and the failure that reaches the limit locks the
        account. While it is locked, even the right password is refused, the same way. The
        caller must commit even when this returns None: the count and the audit are the point.
        """
        agent = self.find_by_email(email) if len(email) <= 254 else None
        valid = verify_password(password, agent.password_hash if agent else dummy_hash())
        now = self.clock()
        if agent is None:
            self.audit.record(
                pseudonym("email", email.strip().lower(), source.key),
                "login.refused",
                source=source.name,
                details={"reason": "unknown account"},
                at=now,
            )
            return None
        actor = agent_actor(agent.id)
        if agent.locked_until is not None and as_utc(agent.locked_until) > now:
            reason = "locked"
        elif not agent.active:
            reason = "disabled"
        elif not valid:
            reason = "wrong password"
        else:
            self.unlock(agent)
            if needs_rehash(agent.password_hash):
                # The password is known right now: store it at today's parameters.
                agent.password_hash = password_hasher().hash(password)
            # Every authentication decision is on the trail (ASVS 4.0.3, 7.2.1), not only refusals.
            self.audit.record(actor, "login", source=source.name, at=now)
            return agent
        self.audit.record(
            actor, "login.refused", source=source.name, details={"reason": reason}, at=now
        )
        if reason == "wrong password" and self._count_failure(agent.id, now, policy):
            self.audit.record(
                actor,
                "login.locked",
                source=source.name,
                details={
                    "failures": policy.max_failures,
                    "until": (now + policy.lockout).isoformat(),
                },
                at=now,
            )
        return None

    def _count_failure(self, agent_id: int, now: datetime, policy: LoginPolicy) -> bool:
        """Count a wrong password in the database itself (atomic across workers); True if this
        failure locked the account."""
        stale = or_(Agent.failures_since.is_(None), Agent.failures_since <= now - policy.window)
        moment = literal(now, Agent.failures_since.type)
        self.session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(
                failed_logins=case((stale, 1), else_=Agent.failed_logins + 1),
                failures_since=case((stale, moment), else_=Agent.failures_since),
            ),
            execution_options={"synchronize_session": False},
        )
        locked = self.session.execute(
            update(Agent)
            .where(Agent.id == agent_id, Agent.failed_logins >= policy.max_failures)
            .values(locked_until=now + policy.lockout, failed_logins=0, failures_since=None),
            execution_options={"synchronize_session": False},
        )
        self.session.expire_all()
        return bool(getattr(locked, "rowcount", 0))

    def login(
        self,
        email: str,
        password: str,
        *,
        hours: int,
        source: Source,
        policy: LoginPolicy | None = None,
    ) -> SignedIn | None:
        """A new session for valid, active, unlocked credentials; None otherwise (the refusal
        is counted and audited: commit it, then answer AuthError's one message)."""
        agent = self.check_credentials(
            email, password, source=source, policy=policy or LoginPolicy()
        )
        if agent is None:
            return None
        self.purge_expired()
        now = self.clock()
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=hours)
        self.session.add(
            AgentSession(
                agent_id=agent.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=expires_at,
                last_seen_at=now,
            )
        )
        self.session.flush()
        return SignedIn(token=token, agent_id=agent.id, expires_at=expires_at)

    def authenticate(self, token: str | None) -> CurrentAgent | None:
        """The agent of a live session token; None if unknown, expired or the agent is disabled."""
        if not token or len(token) > 200:
            return None
        row = self.session.execute(
            select(AgentSession, Agent)
            .join(Agent, Agent.id == AgentSession.agent_id)
            .where(AgentSession.token_hash == hash_token(token))
        ).one_or_none()
        if row is None:
            return None
        agent_session, agent = row
        now = utcnow()
        if as_utc(agent_session.expires_at) <= now:
            self.purge_expired()
            return None
        if not agent.active:
            self.session.delete(agent_session)
            return None
        if now - as_utc(agent_session.last_seen_at) >= _LAST_SEEN_RESOLUTION:
            agent_session.last_seen_at = now
        return CurrentAgent(
            id=agent.id,
            email=agent.email,
            name=agent.name,
            session_expires_at=as_utc(agent_session.expires_at),
            role=agent.role,
        )

    def logout(self, token: str | None) -> None:
        if token:
            self.session.execute(
                delete(AgentSession).where(AgentSession.token_hash == hash_token(token)),
                execution_options={"synchronize_session": False},
            )

    def purge_expired(self) -> int:
        # No in-Python evaluation against loaded rows: SQLite hands back naive datetimes.
        result = self.session.execute(
            delete(AgentSession).where(AgentSession.expires_at <= utcnow()),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0)
