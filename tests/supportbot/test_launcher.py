"""`supportbot run` names a process that fails, stops the others, makes local secrets once."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from supportbot import launcher
from supportbot.launcher import Service, launch, services
from supportbot.settings import SECRET_VARIABLES, Settings, ensure_local_secrets, read_local_secrets
from tests.stack import free_port


def python_service(tmp_path: Path, name: str, code: str, ready: bool = False) -> Service:
    return Service(name, [sys.executable, "-c", code], lambda: ready, tmp_path / f"{name}.log")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    return Settings(
        data_dir=tmp_path,
        model_path=model,
        rasa_python=Path(sys.executable),
        rasa_api_token="t" * 32,
    )


def test_a_process_that_dies_is_named_and_the_others_stopped(
    tmp_path: Path, settings: Settings, monkeypatch, capsys
):
    sleeper = python_service(tmp_path, "sleeper", "import time; time.sleep(60)")
    crasher = python_service(
        tmp_path, "crasher", "import sys; print('boom: port in use'); sys.exit(3)"
    )
    monkeypatch.setattr(launcher, "services", lambda s: [sleeper, crasher])

    assert launch(settings) == 1

    err = capsys.readouterr().err
    assert "crasher exited with code 3" in err and "boom: port in use" in err
    assert sleeper.process is not None and sleeper.process.poll() is not None


def test_each_log_is_masked_and_its_owners_only(
    tmp_path: Path, settings: Settings, monkeypatch, capsys
):
    old_log = tmp_path / "talker.log"
    old_log.write_text("from an older version\n")
    old_log.chmod(0o644)
    talker = python_service(
        tmp_path, "talker", "print('turn failed for jo@example.org, 4539 1488 0343 6467'); exit(3)"
    )
    monkeypatch.setattr(launcher, "services", lambda s: [talker])

    assert launch(settings) == 1

    # Masked by the detector, or coarsely when it was not loaded 5 s after the process ended.
    log = old_log.read_text()
    assert log.startswith("turn failed for <") and "from an older version" not in log
    assert "jo@example.org" not in log and "4539" not in log
    assert stat.S_IMODE(old_log.stat().st_mode) == 0o600
    assert "jo@example.org" not in capsys.readouterr().err


def test_rasa_gets_its_api_token_from_the_environment_not_the_command_line(settings: Settings):
    (rasa,) = [service for service in services(settings) if service.name == "rasa"]

    assert settings.rasa_api_token is not None
    assert not any(settings.rasa_api_token in part for part in rasa.command)
    assert rasa.command[1:3] == ["-m", "assistant.server"]
    assert rasa.env["SUPPORTBOT_RASA_TOKEN"] == settings.rasa_api_token


def test_each_server_gets_its_own_number_of_workers(settings: Settings) -> None:
    scaled = Settings(**{**vars(settings), "rasa_workers": 3, "action_workers": 2})
    env = {service.name: service.env for service in services(scaled)}
    assert env == {
        "actions": {"ACTION_SERVER_SANIC_WORKERS": "2"},
        "rasa": {"SANIC_WORKERS": "3", "SUPPORTBOT_RASA_TOKEN": scaled.rasa_api_token},
        "web": {},
    }


def test_a_missing_model_is_a_clear_error(tmp_path: Path, settings: Settings, capsys):
    missing = Settings(
        data_dir=tmp_path,
        model_path=tmp_path / "nope.tar.gz",
        rasa_python=Path(sys.executable),
        rasa_api_token="t" * 32,
    )
    assert launch(missing) == 1
    assert "make train" in capsys.readouterr().err


def test_local_secrets_are_made_once_and_private(tmp_path: Path):
    path = ensure_local_secrets(tmp_path, env={})
    first = read_local_secrets(tmp_path)
    assert set(first) == set(SECRET_VARIABLES.values())
    assert all(len(value) >= 32 for value in first.values())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    ensure_local_secrets(tmp_path, env={})
    assert read_local_secrets(tmp_path) == first


def test_environment_wins_over_local_secrets(tmp_path: Path):
    ensure_local_secrets(tmp_path, env={})
    mine = "m" * 40
    settings = Settings.from_env(
        {"SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_SESSION_SECRET": mine}
    )
    assert settings.session_secret == mine
    assert settings.rasa_api_token == read_local_secrets(tmp_path)["SUPPORTBOT_RASA_TOKEN"]


@pytest.mark.parametrize("store", ["the CRM database", "Rasa's tracker store"])
def test_an_unreachable_store_is_named_before_anything_starts(
    tmp_path: Path, settings: Settings, store: str, monkeypatch, capsys
):
    port = free_port()
    if store == "the CRM database":
        url = f"postgresql+psycopg2://crm:crm-password-0123@127.0.0.1:{port}/crm"
        broken = Settings(**{**vars(settings), "database_url": url})
    else:
        tracker = {
            "TRACKER_DIALECT": "postgresql",
            "TRACKER_HOST": f"127.0.0.1:{port}",
            "TRACKER_DB": "rasa",
            "TRACKER_USER": "rasa",
            "TRACKER_PASSWORD": "tracker-password-0123",
        }
        broken = Settings(**{**vars(settings), "rasa_environment": tracker})
    sleeper = python_service(tmp_path, "sleeper", "import time; time.sleep(60)")
    monkeypatch.setattr(launcher, "services", lambda s: [sleeper])

    assert launch(broken) == 1

    err = capsys.readouterr().err
    assert f"{store} (postgresql+psycopg2://" in err
    assert f"127.0.0.1:{port}" in err and "is unreachable: OperationalError" in err
    assert "password-0123" not in err
    assert sleeper.process is None  # nothing started


def test_reachable_stores_pass(tmp_path: Path, settings: Settings):
    reachable = Settings(
        **{
            **vars(settings),
            "database_url": f"sqlite:///{tmp_path / 'crm.db'}",
            "rasa_environment": {"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(tmp_path / "t.db")},
        }
    )
    launcher._check_stores(reachable)


def test_sqlite_files_an_older_version_left_readable_become_owner_only(tmp_path: Path):
    from supportbot.launcher import make_data_private

    for name in ("crm.db", "tracker.db", "tracker.db-wal"):
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / name).chmod(0o644)
    (tmp_path / "notes.txt").write_text("not ours")
    (tmp_path / "notes.txt").chmod(0o644)
    make_data_private(tmp_path)
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {
        "crm.db": 0o600,
        "tracker.db": 0o600,
        "tracker.db-wal": 0o600,
        "notes.txt": 0o644,
    }
