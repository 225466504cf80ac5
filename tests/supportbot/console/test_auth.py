"""Agent passwords and sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from supportbot.console import auth
from supportbot.console.auth import AgentError, Agents, AuthError, hash_password, verify_password
from supportbot.console.models import AgentSession
from supportbot.crm.models import utcnow
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD

_numbers = itertools.count()


@pytest.fixture
def url(hand_made: tuple[str, dict[str, int]]) -> str:
    return hand_made[0]


@pytest.fixture
def email(url: str) -> str:
    address = f"agent{next(_numbers)}@support.test"
    with crm_session(url) as crm:
        Agents(crm.session).create(address, "Agent", PASSWORD)
    return address


def test_hash_carries_default_parameters_and_a_random_salt(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2**14)
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # salted
    assert first.startswith("scrypt$16384$8$1$") and PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)


@pytest.mark.parametrize(
    "attempt", ["correct horse battery!", "Correct horse battery", "", "x" * 2000]
)
def test_wrong_passwords_do_not_verify(attempt: str):
    assert not verify_password(attempt, hash_password(PASSWORD))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$1$2$3$4$5",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$1073741824$8$1$AAAA$AAAA",  # absurd cost from a tampered row
        "scrypt$1024$8$1$%%%%$AAAA",
    ],
)
def test_malformed_hashes_never_verify(stored: str):
    assert not verify_password(PASSWORD, stored)


def test_short_passwords_are_refused():
    with pytest.raises(AgentError, match="at least 10"):
        hash_password("123456789")
    assert verify_password("1234567890", hash_password("1234567890"))


def test_create_validates_and_refuses_duplicates(url: str, email: str):
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        with pytest.raises(AgentError, match="already exists"):
            agents.create(email.upper(), "Someone", PASSWORD)
        with pytest.raises(AgentError, match="email"):
            agents.create("not-an-email", "Someone", PASSWORD)
        with pytest.raises(AgentError, match="name"):
            agents.create("new@support.test", "  ", PASSWORD)
        with pytest.raises(AgentError, match="password"):
            agents.create("new@support.test", "New", "short")


def test_login_authenticate_logout(url: str, email: str):
    with crm_session(url) as crm:
        signed_in = Agents(crm.session).login(f"  {email.upper()} ", PASSWORD, hours=8)
    assert signed_in.expires_at - utcnow() > timedelta(hours=7, minutes=59)
    with crm_session(url) as crm:
        agent = Agents(crm.session).authenticate(signed_in.token)
        assert agent is not None and agent.email == email
        assert Agents(crm.session).authenticate(signed_in.token + "x") is None
        assert Agents(crm.session).authenticate(None) is None
        Agents(crm.session).logout(signed_in.token)
    with crm_session(url) as crm:
        assert Agents(crm.session).authenticate(signed_in.token) is None


@pytest.mark.parametrize("case", ["unknown email", "wrong password", "disabled"])
def test_login_refusals_are_alike(url: str, email: str, case: str):
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        if case == "disabled":
            agents.set_active(email, False)
        address = "nobody@support.test" if case == "unknown email" else email
        password = "wrong password" if case == "wrong password" else PASSWORD
        with pytest.raises(AuthError) as error:
            agents.login(address, password, hours=8)
    assert str(error.value) == "wrong email or password"


def test_expired_sessions_are_refused_and_purged(url: str, email: str):
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        old = agents.login(email, PASSWORD, hours=1)
        live = agents.login(email, PASSWORD, hours=1)
        crm.session.execute(
            update(AgentSession)
            .where(AgentSession.token_hash == auth.hash_token(old.token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    with crm_session(url) as crm:
        assert Agents(crm.session).authenticate(old.token) is None
    with crm_session(url) as crm:
        hashes = set(crm.session.scalars(select(AgentSession.token_hash)))
        assert auth.hash_token(old.token) not in hashes
        assert auth.hash_token(live.token) in hashes
        assert Agents(crm.session).authenticate(live.token) is not None


def test_disabling_an_agent_ends_their_sessions(url: str, email: str):
    with crm_session(url) as crm:
        token = Agents(crm.session).login(email, PASSWORD, hours=1).token
    with crm_session(url) as crm:
        Agents(crm.session).set_active(email, False)
    with crm_session(url) as crm:
        assert Agents(crm.session).authenticate(token) is None
        agent = Agents(crm.session).find_by_email(email)
        assert agent is not None
        count = crm.session.scalar(
            select(func.count()).select_from(AgentSession).where(AgentSession.agent_id == agent.id)
        )
        assert count == 0
