"""The `supportbot` command line: clear errors, idempotent database commands, Rasa's environment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.identity import verify_customer_token
from supportbot.settings import get_settings
from tests.conftest import IDENTITY_SECRET


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path))
    for name in ("SUPPORTBOT_DATABASE_URL", "TRACKER_DIALECT", "LOCK_STORE_TYPE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_env_prints_the_embedded_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["env"]) == 0
    values = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert values["TRACKER_DIALECT"] == "sqlite"
    assert values["TRACKER_DB"] == str(tmp_path / "tracker.db")
    assert values["LOCK_STORE_TYPE"] == "in_memory"
    assert values["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"


def test_env_prints_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Makefile puts what it prints on a command line, readable by every local user.
    for name in ("SUPPORTBOT_SESSION_SECRET", "SUPPORTBOT_ACTION_SECRET"):
        monkeypatch.setenv(name, f"{name.lower()}-0123456789abcdef0123456789")
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert "SECRET" not in out and "0123456789abcdef" not in out


def test_env_honours_overrides(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("TRACKER_DIALECT", "postgresql")
    monkeypatch.setenv("LOCK_STORE_TYPE", "redis")
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert "TRACKER_DIALECT=postgresql" in out and "LOCK_STORE_TYPE=redis" in out


def test_a_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("LOCK_STORE_TYPE", "memcached")
    assert main(["env"]) == 2
    assert "LOCK_STORE_TYPE must be in_memory or redis" in capsys.readouterr().err


def test_migrate_and_seed_are_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["db", "migrate"]) == 0
    assert main(["db", "seed", "--customers", "5"]) == 0
    out = capsys.readouterr().out
    assert "Created 7 customers" in out
    assert "Knowledge base index ready:" in out
    assert main(["db", "migrate"]) == 0
    assert main(["db", "seed", "--customers", "5"]) == 0
    assert "already there" in capsys.readouterr().out
    assert (tmp_path / "crm.db").exists()


def test_the_files_a_command_creates_are_its_users_only(tmp_path: Path):
    previous = os.umask(0o022)  # a usual login shell's
    try:
        assert main(["db", "migrate"]) == 0
        assert os.umask(0o022) == 0o022  # the caller's umask is back
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "crm.db").stat().st_mode) == 0o600


def test_token_names_the_customer(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("SUPPORTBOT_IDENTITY_SECRET", IDENTITY_SECRET)
    main(["db", "migrate"])
    main(["db", "seed", "--customers", "0"])
    capsys.readouterr()
    assert main(["token", "ada@example.com"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_customer_token(token, secret=IDENTITY_SECRET) > 0
    assert main(["token", "nobody@example.com"]) == 1
    assert "no customer" in capsys.readouterr().err


def test_token_without_a_secret_says_which_variable(monkeypatch, capsys):
    monkeypatch.delenv("SUPPORTBOT_IDENTITY_SECRET", raising=False)
    assert main(["token", "ada@example.com"]) == 2
    assert "SUPPORTBOT_IDENTITY_SECRET is not set" in capsys.readouterr().err


def test_agent_reply_needs_an_api_token(monkeypatch, capsys):
    monkeypatch.delenv("SUPPORTBOT_API_TOKEN", raising=False)
    assert main(["agent", "reply", "abc", "hello"]) == 1
    assert "set SUPPORTBOT_API_TOKEN" in capsys.readouterr().err


def test_agent_reply_to_an_unreachable_web_app_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("SUPPORTBOT_API_TOKEN", "sbt_not-a-live-token")
    assert main(["agent", "reply", "abc", "hello", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot be reached (ConnectError)" in capsys.readouterr().err


def test_a_database_error_is_named_by_its_type_never_its_parameters(
    capsys: pytest.CaptureFixture[str],
):
    import argparse

    from sqlalchemy.exc import OperationalError

    from supportbot.cli import run_command

    def failing(args: argparse.Namespace) -> int:
        raise OperationalError("UPDATE customers SET email=?", ("ada@example.com",), Exception())

    parser = argparse.ArgumentParser()
    parser.set_defaults(handler=failing)
    assert run_command(parser, []) == 1
    err = capsys.readouterr().err
    assert "OperationalError" in err and "ada@example.com" not in err
