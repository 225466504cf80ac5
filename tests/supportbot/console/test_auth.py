"""Agent passwords and sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from argon2 import extract_parameters
from sqlalchemy import func, select, update

from supportbot.console import auth
from supportbot.console.auth import AgentError, Agents, hash_password, verify_password
from supportbot.console.models import AgentSession
from supportbot.crm.models import utcnow
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, SOURCE

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


def test_hash_is_argon2id_at_owasp_parameters_with_a_random_salt(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(auth, "ARGON2_MEMORY_KIB", 19 * 1024)
    monkeypatch.setattr(auth, "ARGON2_TIME_COST", 2)
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # salted
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not auth.needs_rehash(first)


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
        "$argon2id$v=19$m=4194304,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=64,t=1,p=1$%%%%$AAAA",
    ],
)
def test_malformed_hashes_never_verify(stored: str):
    assert not verify_password(PASSWORD, stored)


def test_new_passwords_need_12_characters():
    with pytest.raises(AgentError, match="at least 12"):
        hash_password("x" * 11)
    assert verify_password("x" * 12, hash_password("x" * 12))


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
        signed_in = Agents(crm.session).login(
            f"  {email.upper()} ", PASSWORD, hours=8, source=SOURCE
        )
    assert signed_in is not None
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
        assert agents.login(address, password, hours=8, source=SOURCE) is None


def test_expired_sessions_are_refused_and_purged(url: str, email: str):
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        old = agents.login(email, PASSWORD, hours=1, source=SOURCE)
        live = agents.login(email, PASSWORD, hours=1, source=SOURCE)
        assert old is not None and live is not None
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
        signed_in = Agents(crm.session).login(email, PASSWORD, hours=1, source=SOURCE)
        assert signed_in is not None
        token = signed_in.token
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


def test_an_unknown_email_costs_one_hash_at_the_same_parameters(
    url: str, email: str, monkeypatch: pytest.MonkeyPatch
):
    """No timing test: an unknown email is checked against a dummy hash of the same cost."""
    checked: list[str] = []
    real = auth.verify_password

    def spy(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", spy)
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        assert agents.login("nobody@support.test", PASSWORD, hours=1, source=SOURCE) is None
        assert agents.login(email, "wrong password", hours=1, source=SOURCE) is None
        known = agents.named(email).password_hash
    assert checked == [auth.dummy_hash(), known]
    assert extract_parameters(checked[0]) == extract_parameters(checked[1])
