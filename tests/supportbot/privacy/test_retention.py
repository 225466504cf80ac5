"""The retention job on backdated conversations (issue 16 §4): expired ones erased, recent ones
and those tagged `keep` kept, a second run changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.exc import OperationalError

from supportbot.cli import main
from supportbot.console.audit import AuditTrail
from supportbot.crm.models import utcnow
from supportbot.privacy.erasure import erase_conversations
from supportbot.privacy.retention import RetentionSchedule, last_run, run_retention
from supportbot.settings import PrivacyRules, SettingsError
from supportbot.store import crm_session
from tests.supportbot.privacy.stores import EVENTS, Stores

OLD_TEXT = "my card is 4111 1111 1111 1111, call me on 0207 946 0958"
NOW = utcnow()


def backdated(stores: Stores) -> None:
    days = stores.settings.privacy.retention_days
    stores.add_conversation(
        "old-ada", NOW - timedelta(days=days + 30), OLD_TEXT, email="ada@example.com"
    )
    stores.add_conversation("old-anonymous", NOW - timedelta(days=days + 1), "where is my parcel")
    stores.add_conversation(
        "old-kept", NOW - timedelta(days=days + 400), "keep this one for the dispute", keep=True
    )
    stores.add_conversation("recent", NOW - timedelta(days=days - 1), "hello from last month")
    stores.add_conversation("today", NOW, "hello from today", email="grace@example.com")


def test_expired_conversations_are_erased_flagged_and_recent_ones_kept(stores: Stores) -> None:
    backdated(stores)
    lines: list[str] = []

    report = run_retention(stores.settings, now=NOW, progress=lines.append)

    assert (report.expired, report.kept, report.erased, report.recent) == (3, 1, 2, 2)
    assert stores.tracker_senders() == {"old-kept", "recent", "today"}
    assert OLD_TEXT not in stores.tracker_text()
    comments = stores.csat_comments()
    assert comments["old-ada"] != OLD_TEXT and comments["old-anonymous"] != "where is my parcel"
    assert comments["old-kept"] == "keep this one for the dispute"
    assert comments["recent"] == "hello from last month"
    assert "erased 2, kept 1 tagged 'keep'; 2 recent ones untouched" in report.summary()
    assert any("erased 2/2" in line for line in lines)
    with crm_session(stores.crm_url) as crm:
        run = last_run(crm.session)
    assert run is not None and run["succeeded"] and run["erased"] == 2 and run["kept"] == 1

    again = run_retention(stores.settings, now=NOW, progress=lines.append)

    assert again.erased == 0 and again.kept == 1
    assert stores.tracker_senders() == {"old-kept", "recent", "today"}
    assert stores.csat_comments() == comments


def test_a_batch_whose_crm_step_failed_is_erased_by_the_next_run(
    stores: Stores, tmp_path: Path
) -> None:
    """The erasure log's line and the tracker's deletion were done, the CRM's transaction was
    not: the next run must not take the log's word that the conversation is erased."""
    backdated(stores)
    folder = tmp_path / "not-a-database"
    folder.mkdir()  # SQLite cannot open a folder: the CRM step fails
    crm_down = replace(stores.settings, database_url=f"sqlite:///{folder}")
    with pytest.raises(OperationalError):
        erase_conversations(crm_down, ["old-ada", "old-anonymous"], reason="retention")
    assert stores.tracker_senders() == {"old-kept", "recent", "today"}
    assert stores.csat_comments()["old-ada"] == OLD_TEXT

    report = run_retention(stores.settings, now=NOW, progress=lambda _: None)

    assert report.erased == 2
    comments = stores.csat_comments()
    assert (comments["old-ada"], comments["old-anonymous"]) == (None, None)


def test_a_dry_run_counts_and_changes_nothing(stores: Stores) -> None:
    backdated(stores)

    report = run_retention(stores.settings, now=NOW, dry_run=True, progress=lambda _: None)

    assert (report.expired, report.kept, report.erased) == (3, 1, 0)
    assert "would erase 2" in report.summary()
    assert stores.tracker_senders() == {"old-ada", "old-anonymous", "old-kept", "recent", "today"}
    with crm_session(stores.crm_url) as crm:
        assert last_run(crm.session) is None


def test_recent_tracker_activity_keeps_a_conversation_the_crm_saw_long_ago(
    stores: Stores,
) -> None:
    """A conversation the CRM recorded long ago but that went on in the tracker is not expired."""
    days = stores.settings.privacy.retention_days
    stores.add_conversation("resumed", NOW - timedelta(days=days + 10), "first visit")
    stores.add_conversation("resumed-later", NOW - timedelta(days=days + 10), "first visit")
    engine = create_engine(stores.tracker_url)
    with engine.begin() as connection:
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.sender_id == "resumed-later", EVENTS.c.type_name == "bot")
            .values(timestamp=NOW.timestamp())
        )
    engine.dispose()

    report = run_retention(stores.settings, now=NOW, progress=lambda _: None)

    assert (report.erased, report.recent) == (1, 1)
    assert stores.tracker_senders() == {"resumed-later"}


@pytest.mark.parametrize("store_backend", ["sqlite"], indirect=True)
def test_the_schedule_survives_a_failed_run_and_tries_again(stores: Stores) -> None:
    """`supportbot run`'s schedule: a run that fails (the tracker store cannot be opened) is
    reported by its error's type alone, and the next turn erases."""
    backdated(stores)
    tracker = Path(stores.settings.rasa_environment["TRACKER_DB"])
    aside = tracker.with_name("aside.db")
    tracker.rename(aside)
    tracker.mkdir()  # SQLite cannot open a folder
    reports: list[str] = []
    schedule = RetentionSchedule(stores.settings, interval_seconds=0.2, report=reports.append)
    schedule.start()
    try:
        wait_for(lambda: bool(reports), reports)
        tracker.rmdir()
        aside.rename(tracker)
        wait_for(lambda: "erased 2" in reports[-1], reports)
    finally:
        schedule.stop()

    assert reports[0].startswith("== Retention run failed (OperationalError); trying again in")
    assert stores.tracker_senders() == {"old-kept", "recent", "today"}
    with crm_session(stores.crm_url) as crm:
        actions = [entry["action"] for entry in AuditTrail(crm.session).recent()]
    assert "retention.failed" in actions and actions[0] == "retention.run"


def wait_for(condition: Callable[[], bool], reports: list[str], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, reports
        time.sleep(0.05)


@pytest.mark.parametrize("store_backend", ["sqlite"], indirect=True)
def test_the_command_line_prints_progress_and_the_summary(
    cli_stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    backdated(cli_stores)

    assert main(["retention", "run", "--dry-run"]) == 0
    assert main(["retention", "run"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 conversations with no activity since")
    assert "3 expired conversations, would erase 2, kept 1 tagged 'keep'" in lines[1]
    assert lines[3] == "erased 2/2"
    assert "3 expired conversations, erased 2, kept 1 tagged 'keep'" in lines[4]
    assert cli_stores.tracker_senders() == {"old-kept", "recent", "today"}


def test_the_schedule_setting() -> None:
    assert PrivacyRules.from_env({}).retention_interval_hours == 24
    assert (
        PrivacyRules.from_env({"SUPPORTBOT_RETENTION_INTERVAL": "0"}).retention_interval_hours == 0
    )
    with pytest.raises(SettingsError, match="SUPPORTBOT_RETENTION_INTERVAL must be a whole number"):
        PrivacyRules.from_env({"SUPPORTBOT_RETENTION_INTERVAL": "daily"})
