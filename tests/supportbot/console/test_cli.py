"""`supportbot agent ...`: logins, roles, passwords, API tokens, and claim/reply/resume through the
web app's takeover routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from supportbot.cli import main
from supportbot.console.audit import Source
from supportbot.console.auth import Agents, CurrentAgent, verify_password
from supportbot.console.models import AgentRole, AuditEntry
from supportbot.console.tokens import AgentTokens
from supportbot.crm.models import utcnow
from supportbot.settings import get_settings
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, hand_over
from tests.supportbot.web.conftest import AUDIT_SECRET, FakeRasa, client_for, make_settings


@pytest.fixture
def url(crm_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path))
    for name in (
        "SUPPORTBOT_NEW_AGENT_PASSWORD",
        "SUPPORTBOT_ADMIN_PASSWORD",
        "SUPPORTBOT_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    return crm_url


def test_create_reads_the_password_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", PASSWORD)
    assert main(["agent", "create", "Sam@Support.test", "--name", "Sam Lee"]) == 0
    out = capsys.readouterr().out
    assert "Created agent" in out and PASSWORD not in out
    with crm_session(url) as crm:
        agent = Agents(crm.session).find_by_email("sam@support.test")
        assert agent is not None and agent.name == "Sam Lee"
        assert verify_password(PASSWORD, agent.password_hash)

    assert main(["agent", "create", "sam@support.test", "--name", "Again"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_create_prompts_twice(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    answers = iter([PASSWORD, PASSWORD, PASSWORD, "something else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["agent", "create", "kim@support.test", "--name", "Kim"]) == 0
    assert main(["agent", "create", "lee@support.test", "--name", "Lee"]) == 1
    assert "passwords differ" in capsys.readouterr().err


def test_create_refuses_a_short_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", "x" * 11)
    assert main(["agent", "create", "kim@support.test", "--name", "Kim"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    with crm_session(url) as crm:
        assert Agents(crm.session).find_by_email("kim@support.test") is None


def test_create_needs_a_name(url: str):
    with pytest.raises(SystemExit):
        main(["agent", "create", "kim@support.test"])


def test_disable_and_enable(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", PASSWORD)
    main(["agent", "create", "kim@support.test", "--name", "Kim"])
    assert main(["agent", "disable", "kim@support.test"]) == 0
    assert main(["agent", "enable", "kim@support.test"]) == 0
    assert main(["agent", "disable", "nobody@support.test"]) == 1
    assert "no agent" in capsys.readouterr().err


# --- roles, passwords and API tokens (issue 15) --------------------------------------------


def make_admin(monkeypatch: pytest.MonkeyPatch, email: str = "root@support.test") -> None:
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", PASSWORD)
    assert main(["agent", "create", email, "--name", "Robin", "--role", "admin"]) == 0


def audit_actions(url: str) -> list[tuple[str, str]]:
    with crm_session(url) as crm:
        return [(e.actor, e.action) for e in crm.session.scalars(select(AuditEntry))]


def test_create_with_a_role_change_role_and_password_are_audited(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    make_admin(monkeypatch)
    assert "Created admin" in capsys.readouterr().out
    main(["agent", "create", "kim@support.test", "--name", "Kim"])
    assert main(["agent", "role", "kim@support.test", "admin"]) == 0
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", "n" * 11)
    assert main(["agent", "password", "kim@support.test"]) == 1
    assert "at least 12" in capsys.readouterr().err
    monkeypatch.setenv("SUPPORTBOT_NEW_AGENT_PASSWORD", "n" * 12)
    assert main(["agent", "password", "kim@support.test"]) == 0
    with crm_session(url) as crm:
        kim = Agents(crm.session).find_by_email("kim@support.test")
        assert kim is not None and kim.role is AgentRole.ADMIN
        assert verify_password("n" * 12, kim.password_hash)
    assert audit_actions(url) == [
        ("cli", "agent.create"),
        ("cli", "agent.create"),
        ("cli", "agent.change"),
        ("cli", "agent.password"),
    ]


def test_only_an_admin_with_the_right_password_issues_a_token(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SUPPORTBOT_AUDIT_SECRET", AUDIT_SECRET)
    get_settings.cache_clear()
    make_admin(monkeypatch)
    main(["agent", "create", "sam@support.test", "--name", "Sam"])
    capsys.readouterr()
    issue = ["agent", "token", "create", "sam@support.test", "--scope", "takeover"]

    monkeypatch.setenv("SUPPORTBOT_ADMIN_PASSWORD", "wrong password")
    assert main([*issue, "--admin", "root@support.test"]) == 1
    assert "wrong email or password" in capsys.readouterr().err
    monkeypatch.setenv("SUPPORTBOT_ADMIN_PASSWORD", PASSWORD)
    assert main([*issue, "--admin", "sam@support.test"]) == 1
    assert "not an admin" in capsys.readouterr().err
    assert main([*issue, "--scope", "root", "--admin", "root@support.test"]) == 1
    assert "unknown scope" in capsys.readouterr().err

    assert main([*issue, "--admin", "root@support.test", "--days", "2"]) == 0
    printed = capsys.readouterr()
    token = printed.out.strip()
    assert token.startswith("sbt_") and "SUPPORTBOT_API_TOKEN" in printed.err
    assert main(["agent", "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "sam@support.test" in listed and "takeover" in listed and token not in listed

    with crm_session(url) as crm:
        [listed_token] = AgentTokens(crm.session).listed()
        root = Agents(crm.session).find_by_email("root@support.test")
        assert root is not None
        admin = f"agent:{root.id}"
    revoke = ["agent", "token", "revoke", str(listed_token["id"]), "--admin", "root@support.test"]
    assert main(revoke) == 0
    with crm_session(url) as crm:
        assert AgentTokens(crm.session).authenticate(token) is None
    actions = audit_actions(url)
    assert (admin, "login.refused") in actions  # the wrong admin password
    assert (admin, "token.issue") in actions and (admin, "token.revoke") in actions


def test_claim_reply_and_resume_go_through_the_takeover_routes(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """The CLI is a client of the console's routes: its token's agent must hold the claim."""
    rasa = FakeRasa()
    web = client_for(rasa, make_settings(database_url=url))

    def post(address: str, **kwargs: Any) -> Any:
        kwargs.pop("timeout")
        return web.post(urlsplit(address).path, **kwargs)

    monkeypatch.setattr(httpx, "post", post)
    make_admin(monkeypatch)
    main(["agent", "create", "sam@support.test", "--name", "Sam Lee"])
    with crm_session(url) as crm:
        agents = Agents(crm.session)
        sam, root = (
            agents.find_by_email("sam@support.test"),
            agents.find_by_email("root@support.test"),
        )
        assert sam is not None and root is not None
        token = AgentTokens(crm.session).issue(
            sam,
            ["takeover"],
            days=1,
            issued_by=CurrentAgent.of(root, utcnow()),
            source=Source.command_line(AUDIT_SECRET),
        )
    monkeypatch.setenv("SUPPORTBOT_API_TOKEN", token.token)
    hand_over(url, "conv-cli")
    rasa.paused["conv-cli"] = True
    capsys.readouterr()

    assert main(["agent", "reply", "conv-cli", "hello"]) == 1
    assert "refused (409): nobody has claimed this conversation" in capsys.readouterr().err
    assert main(["agent", "reply", "never-handed-off", "Your account is locked"]) == 1
    assert "refused (404)" in capsys.readouterr().err
    assert main(["agent", "claim", "conv-cli"]) == 0
    assert main(["agent", "reply", "conv-cli", "Hi, Sam here."]) == 0
    assert main(["agent", "resume", "conv-cli"]) == 0
    assert "handed back" in capsys.readouterr().out
    texts = [
        (e.get("text"), e.get("metadata", {}).get("agent_name")) for e in rasa.events["conv-cli"]
    ]
    assert ("Hi, Sam here.", "Sam") in texts and "never-handed-off" not in rasa.events
    assert not rasa.paused["conv-cli"]
