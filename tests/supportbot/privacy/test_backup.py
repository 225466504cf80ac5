"""Backup and restore of the CRM and the tracker store together (issue 16 §5), on SQLite (the
online backup API) and PostgreSQL (pg_dump / pg_restore), and a mixed setup."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from supportbot.cli import main
from supportbot.crm.db import get_engine
from supportbot.crm.models import utcnow
from supportbot.privacy.backup import BackupError, back_up, read_manifest, restore
from supportbot.privacy.erasure import erase_conversations, erase_customer
from supportbot.store import crm_session
from tests.db import DATABASES, POSTGRES_URL
from tests.supportbot.privacy.stores import Stores, fresh_stores

SAID = "my parcel never came, I'm at 12 St James's Square"


def converse(stores: Stores) -> None:
    stores.add_conversation("ada-1", utcnow() - timedelta(days=3), SAID, email="ada@example.com")
    stores.add_conversation("ada-2", utcnow(), "thanks, it came", email="ada@example.com")
    stores.add_conversation("grace-1", utcnow(), "where is INV-500002", email="grace@example.com")


def erase_ada(stores: Stores) -> int:
    """Ada erased on her request; her customer id."""
    with crm_session(stores.crm_url) as crm:
        ada = crm.customers.find_by_email("ada@example.com")
        assert ada is not None
        ada_id = ada.id
    erase_customer(stores.settings, ada_id, actor="cli", reason="asked by email")
    return ada_id


@pytest.fixture
def empty(store_backend: str, tmp_path: Path) -> Iterator[Stores]:
    """Databases of the same backend with nothing in them: no tables, no rows."""
    with fresh_stores(store_backend, tmp_path, seeded=False) as created:
        yield created


def test_a_backup_restores_into_empty_databases(stores: Stores, empty: Stores, tmp_path: Path):
    converse(stores)
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    manifest = read_manifest(archive)
    assert [part["name"] for part in manifest["parts"]] == ["crm", "tracker"]
    assert manifest["counts"] == {"customers": 2, "conversations": 3, "tracker_conversations": 3}
    assert manifest["schema_revision"]

    lines: list[str] = []
    restored = restore(empty.settings, archive, progress=lines.append)

    assert empty.customer_emails() == {"ada@example.com", "grace@example.com"}
    assert empty.tracker_senders() == {"ada-1", "ada-2", "grace-1"}
    assert SAID in empty.tracker_text()
    assert empty.csat_comments()["ada-1"] == SAID
    assert restored.counts == manifest["counts"]
    assert restored.previous is None  # nothing there to keep
    if empty.crm_url.startswith("sqlite"):
        assert stat.S_IMODE(Path(empty.crm_url.split("///")[1]).stat().st_mode) == 0o600
    assert any("match their SHA-256" in line for line in lines)


def test_a_restore_replaces_every_table(stores: Stores, tmp_path: Path):
    """A table the backup does not have (a later migration's) goes: the database is the
    backup's again, and migrating it afterwards works."""
    converse(stores)
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    with get_engine(stores.crm_url).begin() as connection:
        connection.execute(text("CREATE TABLE added_later (id INTEGER PRIMARY KEY)"))
        connection.execute(text("DELETE FROM conversation_tags"))

    restore(stores.settings, archive, progress=lambda _: None)

    with get_engine(stores.crm_url).connect() as connection:
        assert not inspect(connection).has_table("added_later")
    assert stores.customer_emails() == {"ada@example.com", "grace@example.com"}


# tests.db's PostgreSQL parameter, skipped with a reason when SUPPORTBOT_TEST_POSTGRES_URL is unset.
@pytest.mark.parametrize("store_backend", [DATABASES[1]], indirect=True)
def test_a_postgresql_restore_that_fails_changes_nothing(
    stores: Stores, empty: Stores, tmp_path: Path
):
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    with get_engine(empty.crm_url).begin() as connection:
        connection.execute(text("CREATE TABLE there_before (id INTEGER PRIMARY KEY)"))
        # Not a table's: the restore's CREATE SEQUENCE of customers.id fails on it.
        connection.execute(text("CREATE SEQUENCE customers_id_seq"))

    with pytest.raises(BackupError, match=r"psql failed .*nothing was changed"):
        restore(empty.settings, archive, progress=lambda _: None)

    with get_engine(empty.crm_url).connect() as connection:
        assert inspect(connection).get_table_names() == ["there_before"]


def test_a_damaged_part_is_refused_before_anything_changes(
    stores: Stores, empty: Stores, tmp_path: Path
):
    converse(stores)
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            content = bytearray(source.extractfile(member).read())  # type: ignore[union-attr]
            if member.name.startswith("crm."):
                content[len(content) // 2] ^= 0xFF
            target.addfile(member, io.BytesIO(bytes(content)))

    with pytest.raises(BackupError, match="does not match its checksum"):
        restore(empty.settings, tampered, progress=lambda _: None)
    assert (
        not empty.crm_url.startswith("sqlite") or not Path(empty.crm_url.split("///")[1]).exists()
    )


def test_a_foreign_or_truncated_archive_is_refused(stores: Stores, tmp_path: Path):
    foreign = tmp_path / "photos.tar.gz"
    with tarfile.open(foreign, "w:gz") as archive:
        archive.addfile(tarfile.TarInfo("manifest.json"), io.BytesIO(b""))
    with pytest.raises(BackupError, match="not a supportbot backup"):
        restore(stores.settings, foreign, progress=lambda _: None)

    backup = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    with pytest.raises(BackupError, match=r"not a readable supportbot backup|checksum"):
        restore(stores.settings, truncated, progress=lambda _: None)


def test_an_erasure_after_the_backup_survives_its_restore(stores: Stores, tmp_path: Path):
    converse(stores)
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    ada_id = erase_ada(stores)
    erase_conversations(stores.settings, ["grace-1"], reason="retention")

    restored = restore(stores.settings, archive, progress=lambda _: None)

    assert restored.erasures_reapplied == 2
    assert stores.customer_emails() == {f"erased-{ada_id}@erased.invalid", "grace@example.com"}
    assert stores.tracker_senders() == set()
    assert SAID not in stores.tracker_text()
    assert set(stores.csat_comments().values()) == {None}
    # What the restore replaced is kept, the erasures' result included.
    assert restored.previous is not None
    assert stat.S_IMODE(restored.previous.stat().st_mode) == 0o600
    assert read_manifest(restored.previous)["counts"]["tracker_conversations"] == 0


def test_a_restore_that_could_not_erase_again_is_refused_before_anything_changes(
    stores: Stores, tmp_path: Path
):
    """Without the audit secret the erasure log's customers cannot be recognised: restoring
    first and failing after would leave them restored, unerased."""
    converse(stores)
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    erase_ada(stores)
    without_secret = replace(stores.settings, audit_secret=None)

    with pytest.raises(BackupError, match=r"SUPPORTBOT_AUDIT_SECRET.*nothing was changed"):
        restore(without_secret, archive, progress=lambda _: None)

    assert "ada@example.com" not in stores.customer_emails()
    assert stores.tracker_senders() == {"grace-1"}


def test_a_backup_made_by_a_newer_schema_is_refused(stores: Stores, tmp_path: Path):
    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(newer, "w:gz") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(content)
                manifest["schema_revision"] = "9999_from_the_future"
                content = json.dumps(manifest).encode()
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))

    with pytest.raises(BackupError, match="newer supportbot"):
        restore(stores.settings, newer, progress=lambda _: None)


def test_a_restore_refuses_to_run_beside_the_stack(stores: Stores, tmp_path: Path):
    import socket
    from dataclasses import replace

    archive = back_up(stores.settings, tmp_path / "backup.tar.gz", progress=lambda _: None)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        running = replace(stores.settings, web_port=listener.getsockname()[1])
        with pytest.raises(BackupError, match="stop `supportbot run`"):
            restore(running, archive, progress=lambda _: None)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="SUPPORTBOT_TEST_POSTGRES_URL unset")
def test_a_mixed_setup_backs_up_and_restores(tmp_path: Path):
    """The CRM in PostgreSQL, the tracker store in SQLite."""
    with (
        fresh_stores("postgresql", tmp_path, tracker_backend="sqlite") as stores,
        fresh_stores("postgresql", tmp_path, tracker_backend="sqlite", seeded=False) as empty,
    ):
        converse(stores)
        archive = back_up(stores.settings, tmp_path / "mixed.tar.gz", progress=lambda _: None)
        assert [p["kind"] for p in read_manifest(archive)["parts"]] == ["postgresql", "sqlite"]

        restore(empty.settings, archive, progress=lambda _: None)

        assert empty.customer_emails() == {"ada@example.com", "grace@example.com"}
        assert empty.tracker_senders() == {"ada-1", "ada-2", "grace-1"}


@pytest.mark.parametrize("store_backend", ["sqlite"], indirect=True)
def test_the_command_line_asks_before_it_replaces_anything(
    cli_stores: Stores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stores = cli_stores
    converse(stores)
    archive = tmp_path / "cli.tar.gz"
    assert main(["db", "backup", "--out", str(archive)]) == 0
    stores.add_conversation("after-the-backup", utcnow(), "a later question")

    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert main(["db", "restore", str(archive)]) == 1
    assert "after-the-backup" in stores.tracker_senders()

    def no_terminal(prompt: str) -> str:
        raise EOFError

    # Run from a script with nothing on stdin: not confirmed, rather than a traceback.
    monkeypatch.setattr("builtins.input", no_terminal)
    assert main(["db", "restore", str(archive)]) == 1
    assert "after-the-backup" in stores.tracker_senders()

    assert main(["db", "restore", str(archive), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Nothing was changed" in out
    assert "Restored: 2 customers, 3 conversations in the CRM, 3 in the tracker store" in out
    assert "The databases as they were before are in " in out
    assert stores.tracker_senders() == {"ada-1", "ada-2", "grace-1"}
