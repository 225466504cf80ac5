"""Agent accounts and console sessions.

Passwords are stored as scrypt hashes with a random salt and their parameters; sessions are
random tokens of which only a SHA-256 is stored, with an absolute expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from supportbot.console.models import Agent, AgentSession
from supportbot.crm.customer_input import parse_email
from supportbot.crm.models import as_utc, utcnow

MIN_PASSWORD_LENGTH = 10
# scrypt's cost grows with the input only a little, but there is no reason to accept megabytes.
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 120
# Interactive-login parameters (RFC 7914 recommends N=2^14, r=8, p=1): about 16 MiB, ~50 ms.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_KEY_LENGTH = 32
# Don't write last_seen_at on every request.
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class AuthError(Exception):
    """Login refused; the message is the same whatever the reason, so it reveals nothing."""


class AgentError(ValueError):
    """An agent cannot be created as asked (the message says why)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_LENGTH, maxmem=128 * r * n + 2**20
    )


def hash_password(password: str) -> str:
    """'scrypt$N$r$p$salt$key': self-describing, so the parameters can be raised later."""
    check_password(password)
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
            return False
        # Bounded, so a tampered row cannot make us allocate gigabytes.
        n_, r_, p_ = int(n), int(r), int(p)
        if not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16):
            return False
        candidate = _scrypt(password, _unb64(salt), n_, r_, p_)
        return hmac.compare_digest(candidate, _unb64(key))
    except (ValueError, TypeError):
        return False


# Checked against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = (
    f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(b'0' * 16)}${_b64(b'0' * _KEY_LENGTH)}"
)


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
    id: int
    email: str
    name: str
    session_expires_at: datetime


class Agents:
    """Agent accounts and their sessions, over the caller's session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, email: str, name: str, password: str) -> Agent:
        email = normalise_email(email)
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise AgentError(f"a name has 1 to {MAX_NAME_LENGTH} characters")
        if self.find_by_email(email) is not None:
            raise AgentError(f"an agent with the email {email} already exists")
        agent = Agent(email=email, name=name, password_hash=hash_password(password), active=True)
        try:
            with self.session.begin_nested():
                self.session.add(agent)
        except IntegrityError:  # created concurrently
            raise AgentError(f"an agent with the email {email} already exists") from None
        return agent

    def find_by_email(self, email: str) -> Agent | None:
        return self.session.scalar(select(Agent).where(Agent.email == email.strip().lower()))

    def set_active(self, email: str, active: bool) -> Agent:
        agent = self.find_by_email(email)
        if agent is None:
            raise AgentError("no agent has that email address")
        agent.active = active
        if not active:
            self.session.execute(
                delete(AgentSession).where(AgentSession.agent_id == agent.id),
                execution_options={"synchronize_session": False},
            )
        return agent

    def login(self, email: str, password: str, *, hours: int) -> SignedIn:
        """A new session for valid, active credentials; AuthError otherwise (same message)."""
        agent = self.find_by_email(email) if len(email) <= 254 else None
        valid = verify_password(password, agent.password_hash if agent else _DUMMY_HASH)
        if agent is None or not valid or not agent.active:
            raise AuthError("wrong email or password")
        self.purge_expired()
        now = utcnow()
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
