"""`supportbot agent create|disable|enable`."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.console.auth import Agents, verify_password
from supportbot.settings import get_settings
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD


@pytest.fixture
def url(crm_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPORTBOT_NEW_AGENT_PASSWORD", raising=False)
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
