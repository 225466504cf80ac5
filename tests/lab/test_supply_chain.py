"""The dependency audit's verdicts, from pip-audit's and npm's own report formats."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from lab.supply_chain import (
    ALLOWLIST,
    LOCK_FILES,
    Allowlist,
    Runner,
    judge,
    parse_npm_audit,
    parse_pip_audit,
    report_lines,
    run_audit,
)

ROOT = Path(__file__).resolve().parents[2]


def pip_report(*dependencies: dict[str, object]) -> dict[str, object]:
    return {"dependencies": list(dependencies), "fixes": []}


def vulnerable(name: str, version: str, vuln_id: str, *aliases: str) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "vulns": [
            {
                "id": vuln_id,
                "aliases": list(aliases),
                "fix_versions": ["9.9.9"],
                "description": "A crafted request does harm.\nMore text.",
            }
        ],
    }


def clean(name: str, version: str) -> dict[str, object]:
    return {"name": name, "version": version, "vulns": []}


def not_found(name: str, version: str) -> dict[str, object]:
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} ({version})",
    }


def allowlist_file(tmp_path: Path, text: str) -> Allowlist:
    path = tmp_path / "allow.toml"
    path.write_text(text, encoding="utf-8")
    return Allowlist.load(path)


def test_an_advisory_nobody_accepted_is_refused(tmp_path: Path) -> None:
    audit = parse_pip_audit(
        "constraints/app.txt",
        pip_report(clean("httpx", "0.28.1"), vulnerable("starlette", "1.0", "PYSEC-1", "CVE-1")),
    )
    verdict = judge([audit], allowlist_file(tmp_path, ""))

    assert [f.id for f in verdict.refused] == ["PYSEC-1"]
    assert any(line.startswith("VULNERABLE: starlette 1.0") for line in report_lines(verdict))


def test_an_advisory_is_accepted_by_any_of_its_ids_for_its_package_only(tmp_path: Path) -> None:
    allowlist = allowlist_file(
        tmp_path,
        '[[advisory]]\nid = "CVE-1"\npackage = "StarLette"\nreason = "not reachable: no forms"\n',
    )
    accepted = judge(
        [parse_pip_audit("x", pip_report(vulnerable("starlette", "1.0", "PYSEC-1", "CVE-1")))],
        allowlist,
    )
    other_package = judge(
        [parse_pip_audit("x", pip_report(vulnerable("fastapi", "1.0", "PYSEC-1", "CVE-1")))],
        allowlist,
    )

    assert not accepted.refused and accepted.accepted[0][1].reason == "not reachable: no forms"
    assert [f.package for f in other_package.refused] == ["fastapi"]


def test_a_rasa_pin_covers_that_exact_version_in_the_rasa_lock_only(tmp_path: Path) -> None:
    allowlist = allowlist_file(
        tmp_path,
        '[[rasa_pin]]\npackage = "aiohttp"\nversion = "3.9.5"\nreason = "client only"\n',
    )
    rasa = parse_pip_audit(
        "constraints/rasa.txt", pip_report(vulnerable("aiohttp", "3.9.5", "GHSA-a"))
    )
    newer = parse_pip_audit(
        "constraints/rasa.txt", pip_report(vulnerable("aiohttp", "3.9.6", "GHSA-b"))
    )
    app = parse_pip_audit(
        "constraints/app.txt", pip_report(vulnerable("aiohttp", "3.9.5", "GHSA-a"))
    )

    verdict = judge([rasa, newer, app], allowlist)

    assert [f.id for f, _ in verdict.accepted] == ["GHSA-a"]
    assert sorted((f.source, f.version) for f in verdict.refused) == [
        ("constraints/app.txt", "3.9.5"),
        ("constraints/rasa.txt", "3.9.6"),
    ]


def test_no_answer_from_the_service_is_reported_as_not_run_never_as_clean(tmp_path: Path) -> None:
    audit = parse_pip_audit(
        "constraints/rasa.txt", pip_report(not_found("sanic", "21.12.2"), not_found("rasa", "3.6"))
    )
    verdict = judge([audit], allowlist_file(tmp_path, ""))

    assert verdict.unreachable == ["constraints/rasa.txt"]
    assert report_lines(verdict)[0].startswith("AUDIT NOT RUN for constraints/rasa.txt")


def test_a_pin_the_service_does_not_know_is_listed_as_a_gap(tmp_path: Path) -> None:
    audit = parse_pip_audit(
        "constraints/app.txt",
        pip_report(clean("httpx", "0.28.1"), not_found("torch", "2.13.0+cpu")),
    )
    verdict = judge([audit], allowlist_file(tmp_path, ""))

    assert not verdict.unreachable
    assert "not audited (constraints/app.txt): torch" in "\n".join(report_lines(verdict))


def test_entries_no_finding_needs_are_reported_for_removal(tmp_path: Path) -> None:
    allowlist = allowlist_file(
        tmp_path,
        '[[advisory]]\nid = "CVE-OLD"\npackage = "x"\nreason = "r"\n'
        '[[rasa_pin]]\npackage = "sanic"\nversion = "21.12.2"\nreason = "r"\n',
    )
    verdict = judge(
        [parse_pip_audit("constraints/rasa.txt", pip_report(clean("x", "1")))], allowlist
    )

    assert verdict.stale == ["advisory CVE-OLD", "Rasa pin sanic==21.12.2"]


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks reason"):
        allowlist_file(tmp_path, '[[advisory]]\nid = "CVE-1"\npackage = "x"\nreason = " "\n')


def test_npm_findings_are_named_by_their_ghsa_id() -> None:
    report = {
        "vulnerabilities": {
            "dompurify": {
                "range": "<3.2.4",
                "via": [
                    {
                        "source": 1102,
                        "title": "mXSS",
                        "url": "https://github.com/advisories/GHSA-vhxf-7vqr-mrjg",
                    }
                ],
            },
            "wrapper": {"range": "*", "via": ["dompurify"]},
        },
        "metadata": {"dependencies": {"total": 7}},
    }
    audit = parse_npm_audit("package-lock.json", report)

    assert [(f.package, f.id) for f in audit.findings] == [("dompurify", "GHSA-vhxf-7vqr-mrjg")]
    assert audit.audited == 7
    failed = parse_npm_audit("package-lock.json", {"error": {"code": "E405"}})
    assert failed.service_unreachable


def test_the_command_fails_on_a_finding_and_only_then(tmp_path: Path) -> None:
    """The whole run over the project's real lock files and allow-list; only the tools' answers
    are canned (this machine's network reaches no advisory feed)."""

    def answers(finding: bool) -> Runner:
        def run(command: list[str]) -> subprocess.CompletedProcess[str]:
            if command[0] == "npm":
                out = {"vulnerabilities": {}, "metadata": {"dependencies": {"total": 5}}}
            else:
                lock = Path(command[command.index("-r") + 1])
                pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text("utf-8"), re.M)
                deps = [clean(n, v) for n, v in pins]
                if finding and lock.name == "app.txt":
                    deps.append(vulnerable("fastapi", "0.1", "GHSA-new"))
                out = pip_report(*deps)
            return subprocess.CompletedProcess(command, 0, json.dumps(out), "")

        return run

    lines: list[str] = []
    assert run_audit(ROOT, require_service=True, log=lines.append, run=answers(False)) == 0
    assert run_audit(ROOT, require_service=False, log=lines.append, run=answers(True)) == 1
    assert any(line.startswith("VULNERABLE: fastapi 0.1") for line in lines)


def test_without_a_service_only_require_service_fails() -> None:
    def unreachable(command: list[str]) -> subprocess.CompletedProcess[str]:
        if command[0] == "npm":
            return subprocess.CompletedProcess(command, 1, '{"error": {"code": "E405"}}', "")
        return subprocess.CompletedProcess(
            command, 0, json.dumps(pip_report(not_found("sanic", "21.12.2"))), ""
        )

    assert run_audit(ROOT, require_service=False, log=lambda _: None, run=unreachable) == 0
    assert run_audit(ROOT, require_service=True, log=lambda _: None, run=unreachable) == 2


def test_every_rasa_pin_of_the_allowlist_is_a_pin_of_the_rasa_lock() -> None:
    """An exception for a version we no longer install would hide nothing, but would mislead."""
    allowlist = Allowlist.load(ROOT / ALLOWLIST)
    rasa_lock = (ROOT / LOCK_FILES[1]).read_text(encoding="utf-8")
    pins = {
        (re.sub(r"[-_.]+", "-", n).lower(), v)
        for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", rasa_lock, re.M)
    }
    assert allowlist.rasa_pins and set(allowlist.rasa_pins) <= pins
