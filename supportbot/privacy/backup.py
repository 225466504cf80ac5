"""Backups of the CRM and the tracker store together, in one archive, and their restore.

An archive is a gzipped tar, written 0600, holding one part per database and `manifest.json`:
what each part is (which store, SQLite or PostgreSQL), its size and SHA-256, when it was made,
the CRM's Alembic revision and how many customers and conversations it had. A SQLite database is
copied with SQLite's online backup API (consistent while the stack writes to it); a PostgreSQL
one with `pg_dump -Fc`, restored by psql running pg_restore's script after dropping every table
there is. A store of either kind works beside one of the other.

A restore reads the whole archive and checks every part against the manifest before it touches
a database, and refuses a damaged or foreign archive, or one made by a newer schema. It backs
up the databases as they are (unless they are empty), then replaces each in one transaction
(SQLite's backup API in one step; `psql --single-transaction` on PostgreSQL), brings
the schema up to date (an older backup) and applies the erasure log again, so that a customer
erased after the backup stays erased.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from supportbot.crm.models import utcnow
from supportbot.privacy.erasure import read_erasure_log, reapply_erasures
from supportbot.settings import Settings
from supportbot.store import MIGRATIONS, migrate

FORMAT = "supportbot-backup"
VERSION = 1
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
# What each store is called in messages, and the variable that configures it.
_STORES = {
    "crm": ("the CRM", "SUPPORTBOT_DATABASE_URL"),
    "tracker": ("the tracker store", "TRACKER_DIALECT / TRACKER_DB"),
}

Progress = Callable[[str], None]


class BackupError(ValueError):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Store:
    """One database to back up: the CRM, the tracker store, or both when they are one."""

    name: str  # "crm" or "tracker": the part's name in the archive
    covers: tuple[str, ...]
    url: str

    @property
    def kind(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    @property
    def file_name(self) -> str:
        return _file_name(self.name, self.kind)

    @property
    def label(self) -> str:
        return " and ".join(_STORES[role][0] for role in self.covers)

    @property
    def shown_url(self) -> str:
        return _shown(self.url)

    @property
    def sqlite_path(self) -> Path:
        return _sqlite_file(self.url)


def _file_name(name: str, kind: str) -> str:
    return f"{name}.{'sqlite' if kind == 'sqlite' else 'pgdump'}"


def stores(settings: Settings) -> list[Store]:
    """The databases a backup covers, as `settings` configures them."""
    tracker = settings.tracker_store_url
    if tracker is None:
        raise BackupError(
            "the tracker store is neither SQLite nor PostgreSQL (TRACKER_DIALECT): "
            "back it up with its own tools"
        )
    for url in (settings.database_url, tracker):
        if make_url(url).get_backend_name() not in {"sqlite", "postgresql"}:
            raise BackupError(f"backups cover SQLite and PostgreSQL only, not {_shown(url)}")
    if _same_database(settings.database_url, tracker):
        return [Store("crm", ("crm", "tracker"), settings.database_url)]
    return [Store("crm", ("crm",), settings.database_url), Store("tracker", ("tracker",), tracker)]


def _sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    return (a.get_backend_name(), a.host, a.port, a.database) == (
        b.get_backend_name(),
        b.host,
        b.port,
        b.database,
    )


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- backup ----------------------------------------------------------------------------------


def default_archive(settings: Settings) -> Path:
    return settings.data_dir / "backups" / f"supportbot-{utcnow():%Y%m%d-%H%M%S}.tar.gz"


def back_up(settings: Settings, out: Path | None = None, *, progress: Progress = print) -> Path:
    """Write one archive of every store to `out` (default: `<data dir>/backups/`); its path.

    The archive appears only when complete (written under a temporary name, then renamed)."""
    parts = stores(settings)
    out = out or default_archive(settings)
    if out.exists():
        raise BackupError(f"{out} exists already: name another file")
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    crm = parts[0]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": utcnow().isoformat(),
        "schema_revision": _schema_revision(crm.url),
        "counts": counts(settings),
        "parts": [],
    }
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as staging:
        for store in parts:
            path = Path(staging) / store.file_name
            progress(f"Backing up {store.label} ({store.kind}: {store.shown_url})...")
            if store.kind == "sqlite":
                # A tracker store Rasa has not created yet is an empty one; a missing CRM is a
                # mistake in the settings.
                _sqlite_copy(store.sqlite_path, path, must_exist="crm" in store.covers)
            else:
                _run_pg("pg_dump", store.url, ["--format=custom", f"--file={path}"])
            digest, size = _sha256(path)
            manifest["parts"].append(
                {
                    "name": store.name,
                    "covers": list(store.covers),
                    "kind": store.kind,
                    "file": store.file_name,
                    "size": size,
                    "sha256": digest,
                }
            )
            progress(f"   {store.file_name}: {size:,} bytes, sha256 {digest[:16]}...")
        _write_archive(out, Path(staging), manifest)
    return out


def _write_archive(out: Path, staging: Path, manifest: dict[str, Any]) -> None:
    partial = out.with_name(f".{out.name}.partial")
    # Owner-only from the first byte: the archive holds every customer's data.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            encoded = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(encoded), 0o600, int(utcnow().timestamp())
            archive.addfile(info, io.BytesIO(encoded))
            for part in manifest["parts"]:
                archive.add(staging / part["file"], arcname=part["file"], recursive=False)
            archive.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_copy(source: Path, target: Path, *, must_exist: bool) -> None:
    """Copy one SQLite database into another with the online backup API (one transaction on the
    target: it holds the old content or the new, never half of each)."""
    if must_exist and not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not target.exists():
        # Owner-only, like every data file (SQLite gives its -wal and -shm files the same mode).
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if not source.is_file():
        return
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _pg_environment(url: str) -> dict[str, str]:
    """libpq's variables for `url`: the password reaches the child in its environment, never on
    a command line (which every user of the host can read)."""
    parsed = make_url(url)
    values = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
        "PGOPTIONS": parsed.query.get("options"),
    }
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def _run_pg(tool: str, url: str, arguments: list[str]) -> None:
    _require(tool)
    result = subprocess.run(
        [tool, "--no-password", *arguments],
        env=_pg_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # libpq's and pg_dump's messages name objects and the server, not rows.
        raise BackupError(
            f"{tool} failed on {_shown(url)} (exit {result.returncode}): "
            f"{result.stderr.strip()[-2000:]}"
        )


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not on PATH: install PostgreSQL's client programs")


def _pg_replace(url: str, dump: Path) -> None:
    """Replace the database's tables with the dump's in one transaction: every table it has now
    is dropped first (`pg_restore --clean` would leave one the dump lacks, such as a newer
    migration's, and the migration would then fail on it), then psql runs the dump's SQL."""
    for tool in ("pg_restore", "psql"):
        _require(tool)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    quoted = ('"' + table.replace('"', '""') + '"' for table in tables)
    drops = "".join(f"DROP TABLE IF EXISTS {table} CASCADE;\n" for table in quoted)
    env = _pg_environment(url)
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as psql_errors:
        script = subprocess.Popen(
            ["pg_restore", "--no-owner", "--file=-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=script_errors,
            env=env,
        )
        psql = subprocess.Popen(
            [
                *("psql", "--no-password", "--quiet", "--single-transaction"),
                *("--set=ON_ERROR_STOP=1", "--file=-"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_errors,
            env=env,
        )
        assert script.stdout is not None and psql.stdin is not None
        try:
            psql.stdin.write(drops.encode())
            shutil.copyfileobj(script.stdout, psql.stdin)
        except BrokenPipeError:
            pass  # psql stopped at an error: its exit code and message say which
        finally:
            psql.stdin.close()
        failed = [
            (tool, errors)
            for tool, process, errors in (
                ("pg_restore", script, script_errors),
                ("psql", psql, psql_errors),
            )
            if process.wait() != 0
        ]
        if failed:
            tool, errors = failed[0]
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-2000:]
            raise BackupError(
                f"{tool} failed restoring {_shown(url)}; nothing was changed there: {message}"
            )


def _schema_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as error:
        raise BackupError(f"{_shown(url)} cannot be read: {type(error).__name__}") from None
    finally:
        engine.dispose()


def counts(settings: Settings) -> dict[str, int]:
    """Customers and conversations in the CRM, conversations in the tracker store."""
    queries = {
        "customers": (settings.database_url, "customers", "COUNT(*)"),
        "conversations": (settings.database_url, "interactions", "COUNT(*)"),
        "tracker_conversations": (
            settings.tracker_store_url,
            "events",
            "COUNT(DISTINCT sender_id)",
        ),
    }
    found = dict.fromkeys(queries, 0)
    for name, (url, table, count) in queries.items():
        if url is None or (url.startswith("sqlite") and not _sqlite_file(url).is_file()):
            continue
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                if inspect(connection).has_table(table):
                    found[name] = int(connection.scalar(text(f"SELECT {count} FROM {table}")) or 0)
        finally:
            engine.dispose()
    return found


# --- restore ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    counts: dict[str, int]
    erasures_reapplied: int
    # The databases as they were before, backed up by the restore (None: there were none).
    previous: Path | None


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest, checked for shape; BackupError for anything else."""
    with _open_archive(archive) as tar:
        return _manifest(tar, archive)


def restore(settings: Settings, archive: Path, *, progress: Progress = print) -> Restored:
    """Replace the configured stores with the archive's content (see the module's docstring)."""
    running = running_services(settings)
    if running:
        raise BackupError(
            f"{', '.join(running)} answer(s): stop `supportbot run` (Ctrl-C) before restoring, "
            "so nothing writes to the databases while they are replaced"
        )
    targets = {store.name: store for store in stores(settings)}
    _check_erasures_reapply(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.data_dir) as staging:
        manifest = _verified_copy(archive, Path(staging), progress)
        parts = _matched_parts(manifest, targets)
        previous = _back_up_current(settings, progress)
        for part, store in parts:
            progress(f"Restoring {store.label} ({store.kind}: {store.shown_url})...")
            path = Path(staging) / part["file"]
            if store.kind == "sqlite":
                _sqlite_copy(path, store.sqlite_path, must_exist=False)
            else:
                _pg_replace(store.url, path)
    progress("Bringing the CRM's schema up to date...")
    migrate(settings.database_url)
    reapplied = reapply_erasures(settings)
    progress(f"Erasure log applied again: {reapplied} erasures")
    return Restored(manifest, counts(settings), reapplied, previous)


def _check_erasures_reapply(settings: Settings) -> None:
    """Refuse before anything is replaced when the erasure log could not be applied again:
    the restore would bring the erased customers back and only then fail."""
    log = settings.privacy.erasure_log
    if settings.audit_secret or not any(e.get("customer") for e in read_erasure_log(log)):
        return
    raise BackupError(
        f"the erasure log {log} names erased customers by a keyed hash of their email under "
        "SUPPORTBOT_AUDIT_SECRET, which is not set: set it (as when they were erased) so that "
        "they are erased again after the restore; nothing was changed"
    )


def _back_up_current(settings: Settings, progress: Progress) -> Path | None:
    """The databases as they are, backed up before a restore replaces them: nothing is lost if
    it was the wrong archive, or if the second database fails after the first was replaced.
    None when the CRM holds nothing yet (a restore into empty databases)."""
    crm = settings.database_url
    if crm.startswith("sqlite") and not _sqlite_file(crm).is_file():
        return None
    if _schema_revision(crm) is None:
        return None
    progress("Backing up the databases as they are first...")
    path = settings.data_dir / "backups" / f"before-restore-{utcnow():%Y%m%d-%H%M%S}.tar.gz"
    return back_up(settings, path, progress=progress)


@contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            yield tar
    except (tarfile.TarError, EOFError, OSError) as error:
        reason = str(error).strip().splitlines()
        raise BackupError(
            f"{archive} is not a readable supportbot backup "
            f"({type(error).__name__}{': ' + reason[0] if reason else ''})"
        ) from None


def _manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    foreign = BackupError(f"{archive} is not a supportbot backup (no valid {MANIFEST})")
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.load(handle) if handle else None
    except (KeyError, ValueError):
        raise foreign from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise foreign
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{archive} is a backup of format version {manifest.get('version')!r}; this "
            f"supportbot reads version {VERSION}"
        )
    parts = manifest.get("parts")
    if not isinstance(parts, list) or not parts:
        raise foreign
    for part in parts:
        if (
            not isinstance(part, dict)
            or part.get("name") not in _STORES
            or part.get("kind") not in {"sqlite", "postgresql"}
            or part.get("file") != _file_name(part["name"], part["kind"])
            or not isinstance(part.get("sha256"), str)
            or not isinstance(part.get("size"), int)
        ):
            raise foreign
    return manifest


def _verified_copy(archive: Path, staging: Path, progress: Progress) -> dict[str, Any]:
    """Copy each part out of the archive, checking its size and SHA-256 on the way; the
    manifest. Nothing but the manifest's own files is read, and nothing is written elsewhere."""
    with _open_archive(archive) as tar:
        manifest = _manifest(tar, archive)
        expected = {part["file"]: part for part in manifest["parts"]}
        names = {member.name for member in tar.getmembers()}
        unexpected = names - set(expected) - {MANIFEST}
        missing = set(expected) - names
        if unexpected or missing:
            raise BackupError(
                f"{archive} does not match its manifest (missing: {sorted(missing) or 'none'}, "
                f"unexpected: {sorted(unexpected) or 'none'}): refused, nothing was changed"
            )
        for name, part in expected.items():
            member = tar.getmember(name)
            source = tar.extractfile(member) if member.isfile() else None
            if source is None:
                raise BackupError(f"{archive}: {name} is not a file: refused, nothing was changed")
            digest = hashlib.sha256()
            size = 0
            with source, (staging / name).open("wb") as target:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            if size != part["size"] or digest.hexdigest() != part["sha256"]:
                raise BackupError(
                    f"{archive}: {name} does not match its checksum (damaged or altered): "
                    "refused, nothing was changed"
                )
    progress(
        f"Archive of {manifest.get('created_at', '?')} verified: "
        f"{', '.join(part['file'] for part in manifest['parts'])} match their SHA-256"
    )
    _check_revision(manifest, archive)
    return manifest


def _check_revision(manifest: dict[str, Any], archive: Path) -> None:
    from alembic.script import ScriptDirectory

    revision = manifest.get("schema_revision")
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if revision is not None and revision not in known:
        raise BackupError(
            f"{archive} was made by a newer supportbot (schema revision {revision}): restore it "
            "with that version"
        )


def _matched_parts(
    manifest: dict[str, Any], targets: dict[str, Store]
) -> list[tuple[dict[str, Any], Store]]:
    """Each part with the configured database it replaces; refused when they do not fit."""
    parts = {part["name"]: part for part in manifest["parts"]}
    covered = sorted(role for part in parts.values() for role in part.get("covers", [part["name"]]))
    wanted = sorted(role for store in targets.values() for role in store.covers)
    if covered != wanted or set(parts) != set(targets):
        raise BackupError(
            "the backup holds the CRM and the tracker store in "
            f"{'one database' if len(parts) == 1 else 'two databases'}, but they are configured "
            f"in {'one' if len(targets) == 1 else 'two'}: configure them as when it was made"
        )
    matched = []
    for name, part in parts.items():
        store = targets[name]
        if part["kind"] != store.kind:
            label, variable = _STORES[name]
            raise BackupError(
                f"the backup's copy of {label} is {part['kind']}, but {variable} configures "
                f"{store.kind}: configure a {part['kind']} database to restore into"
            )
        matched.append((part, store))
    return matched


def running_services(settings: Settings) -> list[str]:
    """The stack's servers that answer on their configured ports (`supportbot run` is up)."""
    rasa = urlsplit(settings.rasa_url)
    ports = {
        "the web app": (settings.web_host, settings.web_port),
        "Rasa": (rasa.hostname or "127.0.0.1", rasa.port or 5005),
        "the action server": (settings.action_server_host, settings.action_server_port),
    }
    answering = []
    for name, (host, port) in ports.items():
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        try:
            with socket.create_connection((reachable, port), timeout=0.5):
                answering.append(f"{name} ({reachable}:{port})")
        except OSError:
            continue
    return answering
