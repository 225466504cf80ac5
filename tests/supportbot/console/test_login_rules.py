"""Login rules of issue 15: 12-character passwords, argon2id with old scrypt hashes upgraded at the
next login, a per-account lockout counted in the CRM, and an audit line for every refusal that
names the account and the source without an email or an address in clear."""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from supportbot.cli import main
from supportbot.console.audit import Source, pseudonym
from supportbot.console.auth import REFUSED, Agents, LoginPolicy, verify_password
from supportbot.console.models import Agent, AgentRole, AuditEntry
from supportbot.crm.models import utcnow
from supportbot.settings import Settings, SettingsError
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, SOURCE, create_agent
from tests.supportbot.web.conftest import AUDIT_SECRET, FakeRasa, client_for, make_settings

EMAIL = "sam@support.test"
POLICY = LoginPolicy(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


class Clock:
    """The time the lockout sees; tests move it on."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def url(crm_url: str) -> str:
    create_agent(crm_url, EMAIL, "Sam Lee")
    return crm_url


def login(url: str, password: str, clock: Clock, email: str = EMAIL) -> bool:
    """One login attempt in a transaction of its own, as the route makes it."""
    with crm_session(url) as crm:
        signed_in = Agents(crm.session, clock=clock).login(
            email, password, hours=1, source=SOURCE, policy=POLICY
        )
    return signed_in is not None


def audit(url: str) -> list[AuditEntry]:
    with crm_session(url) as crm:
        entries = list(crm.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        crm.session.expunge_all()
        return entries


def stored_hash(url: str, email: str = EMAIL) -> str:
    with crm_session(url) as crm:
        agent = Agents(crm.session).find_by_email(email)
        assert agent is not None
        return agent.password_hash


def sam_id(url: str) -> int:
    with crm_session(url) as crm:
        agent = Agents(crm.session).find_by_email(EMAIL)
        assert agent is not None
        return agent.id


# --- passwords -----------------------------------------------------------------------------


def test_a_new_agent_needs_12_characters(crm_url: str):
    with crm_session(crm_url) as crm, pytest.raises(ValueError, match="at least 12"):
        Agents(crm.session).create("kim@support.test", "Kim", "x" * 11)
    with crm_session(crm_url) as crm:
        assert Agents(crm.session).create("kim@support.test", "Kim", "x" * 12).id


def test_a_changed_password_needs_12_characters_and_clears_the_lock(url: str):
    clock = Clock()
    for _ in range(5):
        login(url, "wrong password", clock)
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        agent = agents.find_by_email(EMAIL)
        assert agent is not None and agent.locked_until is not None
        with pytest.raises(ValueError, match="at least 12"):
            agents.set_password(agent, "y" * 11)
        agents.set_password(agent, "y" * 12)
    assert login(url, "y" * 12, clock)


def scrypt_hash_of_before(password: str) -> str:
    """A hash as issue 4's code stored it: scrypt N=2^14, r=8, p=1."""
    salt = b"sixteen byte sal"
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"scrypt$16384$8$1${b64(salt)}${b64(key)}"


def test_an_old_scrypt_hash_still_verifies_and_is_upgraded_at_the_next_login(url: str):
    old_password = "ten chars!"  # the old minimum: it still signs in
    old = scrypt_hash_of_before(old_password)
    with crm_session(url) as crm:
        agent = Agents(crm.session).find_by_email(EMAIL)
        assert agent is not None
        agent.password_hash = old
    assert verify_password(old_password, old) and not verify_password("ten chars?", old)

    assert not login(url, "ten chars?", Clock())
    assert stored_hash(url) == old  # a failed login changes nothing

    assert login(url, old_password, Clock())
    upgraded = stored_hash(url)
    assert upgraded.startswith("$argon2id$") and verify_password(old_password, upgraded)
    assert login(url, old_password, Clock())
    assert stored_hash(url) == upgraded  # hashed once, not at every login


# --- the lockout ---------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_then_it_opens_again(url: str):
    clock = Clock()
    for _ in range(5):
        assert not login(url, "wrong password", clock)

    # Locked: the right password is refused too, the same way.
    clock.now += timedelta(minutes=14)
    assert not login(url, PASSWORD, clock)

    clock.now += timedelta(minutes=1, seconds=1)
    assert login(url, PASSWORD, clock)
    last = audit(url)[-1]
    assert (last.actor, last.action, last.source) == (f"agent:{sam_id(url)}", "login", "ip:test")
    with crm_session(url) as crm:
        agent = crm.session.get(Agent, sam_id(url))
        assert agent is not None
        assert (agent.failed_logins, agent.failures_since, agent.locked_until) == (0, None, None)


def test_failures_outside_the_window_do_not_add_up(url: str):
    clock = Clock()
    for _ in range(4):
        login(url, "wrong password", clock)
    clock.now += timedelta(minutes=16)
    for _ in range(4):
        login(url, "wrong password", clock)
    assert login(url, PASSWORD, clock)


def test_a_success_resets_the_count(url: str):
    clock = Clock()
    for _ in range(4):
        login(url, "wrong password", clock)
    assert login(url, PASSWORD, clock)
    for _ in range(4):
        login(url, "wrong password", clock)
    assert login(url, PASSWORD, clock)


def test_attempts_while_locked_do_not_extend_the_lock(url: str):
    clock = Clock()
    for _ in range(5):
        login(url, "wrong password", clock)
    for _ in range(10):
        clock.now += timedelta(minutes=1)
        assert not login(url, "wrong password", clock)
    clock.now += timedelta(minutes=5, seconds=1)
    assert login(url, PASSWORD, clock)


# --- the audit trail -----------------------------------------------------------------------


def test_every_refusal_is_audited_naming_the_account_and_the_source(
    url: str, caplog: pytest.LogCaptureFixture
):
    clock = Clock()
    sam = f"agent:{sam_id(url)}"
    with caplog.at_level(logging.INFO):
        login(url, PASSWORD, clock, email="nobody@support.test")
        for _ in range(5):
            login(url, "wrong password", clock)
        login(url, PASSWORD, clock)  # locked

    entries = [(e.actor, e.action, e.source, e.details.get("reason")) for e in audit(url)]
    unknown = pseudonym("email", "nobody@support.test", SOURCE.key)
    assert entries == [
        (unknown, "login.refused", "ip:test", "unknown account"),
        *[(sam, "login.refused", "ip:test", "wrong password")] * 4,
        (sam, "login.refused", "ip:test", "wrong password"),
        (sam, "login.locked", "ip:test", None),
        (sam, "login.refused", "ip:test", "locked"),
    ]
    assert all(e.at is not None for e in audit(url))
    # The same lines in the log, with neither the email nor anything of the password.
    logged = [r.getMessage() for r in caplog.records if r.name == "supportbot.console.audit"]
    assert len(logged) == 8 and logged[0].startswith(f"audit: {unknown} login.refused")
    assert not any("nobody" in line or "support.test" in line for line in logged)


def test_the_keyed_hash_groups_without_revealing():
    first = pseudonym("ip", "203.0.113.7", AUDIT_SECRET)
    assert first == pseudonym("ip", "203.0.113.7", AUDIT_SECRET)
    assert first != pseudonym("ip", "203.0.113.8", AUDIT_SECRET)
    assert first != pseudonym("ip", "203.0.113.7", "another-key-of-32-characters-0123")
    assert "203.0.113" not in first and len(first) == len("ip:") + 16


# --- over HTTP -----------------------------------------------------------------------------


def post_login(client: TestClient, password: str, email: str = EMAIL) -> tuple[int, object]:
    response = client.post("/api/console/login", json={"email": email, "password": password})
    return response.status_code, response.json()


def test_the_route_refuses_a_locked_account_exactly_like_a_wrong_password(url: str):
    client = client_for(FakeRasa(), make_settings(database_url=url))
    refused = (401, {"error": REFUSED})
    assert post_login(client, PASSWORD, "nobody@support.test") == refused
    for _ in range(5):
        assert post_login(client, "wrong password") == refused
        assert "sb_agent" not in client.cookies

    assert post_login(client, PASSWORD) == refused  # right password, locked account
    assert "sb_agent" not in client.cookies

    # The audit lines name the client by a keyed hash of its address (the test client's).
    sources = {e.source for e in audit(url)}
    assert sources == {Source.client("testclient", AUDIT_SECRET).name}
    assert [e.action for e in audit(url)].count("login.locked") == 1


def test_the_lockout_settings_are_read(url: str):
    client = client_for(
        FakeRasa(), make_settings(database_url=url, login_max_failures=2, login_lockout_seconds=60)
    )
    for _ in range(2):
        post_login(client, "wrong password")
    assert post_login(client, PASSWORD)[0] == 401
    with crm_session(url) as crm:
        agent = crm.session.get(Agent, sam_id(url))
        assert agent is not None and agent.locked_until is not None


def test_the_lockout_settings_have_safe_defaults_and_are_checked(tmp_path: Path):
    env = {"SUPPORTBOT_DATA_DIR": str(tmp_path)}
    assert LoginPolicy.of(Settings.from_env(env)) == POLICY
    custom = Settings.from_env(
        {
            **env,
            "SUPPORTBOT_LOGIN_MAX_FAILURES": "3",
            "SUPPORTBOT_LOGIN_FAILURE_WINDOW": "60",
            "SUPPORTBOT_LOGIN_LOCKOUT": "3600",
        }
    )
    assert LoginPolicy.of(custom) == LoginPolicy(3, timedelta(minutes=1), timedelta(hours=1))
    with pytest.raises(SettingsError, match="SUPPORTBOT_LOGIN_MAX_FAILURES must be at least 1"):
        Settings.from_env({**env, "SUPPORTBOT_LOGIN_MAX_FAILURES": "0"})


def test_an_admin_or_the_operator_lifts_a_lockout(url: str):
    clock = Clock()
    for _ in range(5):
        login(url, "wrong password", clock)
    assert not login(url, PASSWORD, clock)
    assert main(["agent", "unlock", EMAIL]) == 0
    assert login(url, PASSWORD, clock)

    for _ in range(5):
        login(url, "wrong password", clock)
    create_agent(url, "root@support.test", "Robin", AgentRole.ADMIN)
    admin = client_for(FakeRasa(), make_settings(database_url=url))
    assert post_login(admin, PASSWORD, "root@support.test")[0] == 200
    response = admin.patch(
        f"/api/console/agents/{sam_id(url)}",
        json={"unlock": True},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 200 and response.json()["locked_until"] is None
    assert login(url, PASSWORD, clock)
    unlocked = [e for e in audit(url) if e.details.get("unlocked")]
    assert [e.actor for e in unlocked] == ["cli", f"agent:{admin_id(url)}"]


def admin_id(url: str) -> int:
    with crm_session(url) as crm:
        return Agents(crm.session).named("root@support.test").id
