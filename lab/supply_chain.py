"""The dependency audit: every pinned package of both environments and of the front end, checked
against the published advisories, failing on any advisory the reviewed allow-list does not accept.

- Python: pip-audit on the exact pins of constraints/app.txt and constraints/rasa.txt
  (`--no-deps --disable-pip`: the lock files are the whole truth; nothing is resolved, so the
  Python 3.10 environment is audited from the 3.11 one).
- Front end: `npm audit` on package-lock.json (the production dependencies).
- constraints/audit-allowlist.toml says why each accepted advisory is accepted: by its id (or an
  alias), or for a version that Rasa 3.6.21 itself requires, with how that package is exposed.

When no advisory service answers (this workplace's network reaches the package indexes but not
their vulnerability feeds), the audit says so in capitals and, unless `--require-service`, does
not fail: an audit that could not look is reported as not run, never as clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

LOCK_FILES = ("constraints/app.txt", "constraints/rasa.txt")
ALLOWLIST = "constraints/audit-allowlist.toml"
_GHSA = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")
# pip-audit's words for a pin it could not look up (its service did not know the package).
_NOT_FOUND = "not found on PyPI"


@dataclass(frozen=True)
class Finding:
    """One advisory that applies to one pinned package."""

    source: str  # the lock file
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()
    summary: str = ""

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}


@dataclass(frozen=True)
class LockAudit:
    """What one lock file's audit found, and which pins it could not look up."""

    source: str
    audited: int
    findings: list[Finding]
    not_audited: dict[str, str]  # package -> reason

    @property
    def service_unreachable(self) -> bool:
        """True when not one pin could be looked up: the service, not the pins, is the problem."""
        return self.audited == 0 and bool(self.not_audited)


@dataclass(frozen=True)
class Acceptance:
    reason: str
    rule: str  # "advisory <id>" or "Rasa pin <package>==<version>"


@dataclass
class Allowlist:
    """The reviewed exceptions. Every entry carries the reason it is accepted."""

    advisories: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (package, reason)
    rasa_pins: dict[tuple[str, str], str] = field(default_factory=dict)  # (package, ver) -> reason

    @classmethod
    def load(cls, path: Path) -> Allowlist:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        allowlist = cls()
        for entry in data.get("advisory", []):
            _require(entry, ("id", "package", "reason"), path)
            allowlist.advisories[entry["id"]] = (_name(entry["package"]), entry["reason"])
        for entry in data.get("rasa_pin", []):
            _require(entry, ("package", "version", "reason"), path)
            allowlist.rasa_pins[(_name(entry["package"]), entry["version"])] = entry["reason"]
        return allowlist

    def accepts(self, finding: Finding) -> Acceptance | None:
        for advisory_id in sorted(finding.ids):
            listed = self.advisories.get(advisory_id)
            if listed is not None and listed[0] == _name(finding.package):
                return Acceptance(listed[1], f"advisory {advisory_id}")
        pin = self.rasa_pins.get((_name(finding.package), finding.version))
        if pin is not None and finding.source.endswith("rasa.txt"):
            return Acceptance(pin, f"Rasa pin {finding.package}=={finding.version}")
        return None

    def unused(self, findings: Iterable[Finding]) -> list[str]:
        """Allow-list entries no finding needed: fixed upstream, or a pin that moved."""
        seen_ids = {i for f in findings for i in f.ids}
        seen_pins = {(_name(f.package), f.version) for f in findings}
        stale = [f"advisory {i}" for i in sorted(self.advisories) if i not in seen_ids]
        stale += [
            f"Rasa pin {p}=={v}" for p, v in sorted(self.rasa_pins) if (p, v) not in seen_pins
        ]
        return stale


def _require(entry: dict[str, object], keys: tuple[str, ...], path: Path) -> None:
    missing = [k for k in keys if not str(entry.get(k) or "").strip()]
    if missing:
        raise ValueError(f"{path}: an entry lacks {', '.join(missing)}: {entry}")


def _name(package: str) -> str:
    """PEP 503 normalised name: 'PyJWT' and 'pyjwt' are one package."""
    return re.sub(r"[-_.]+", "-", package).lower()


def parse_pip_audit(source: str, report: dict[str, object]) -> LockAudit:
    """pip-audit's JSON report (`-f json`) of one lock file."""
    findings: list[Finding] = []
    not_audited: dict[str, str] = {}
    audited = 0
    dependencies = report.get("dependencies", [])
    assert isinstance(dependencies, list)
    for dependency in dependencies:
        name, reason = dependency["name"], dependency.get("skip_reason")
        if reason:
            not_audited[name] = reason
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            findings.append(
                Finding(
                    source=source,
                    package=name,
                    version=dependency["version"],
                    id=vuln["id"],
                    aliases=tuple(vuln.get("aliases", [])),
                    fixed_in=tuple(vuln.get("fix_versions", [])),
                    summary=(vuln.get("description") or "").strip().split("\n")[0][:160],
                )
            )
    return LockAudit(source, audited, findings, not_audited)


def parse_npm_audit(source: str, report: dict[str, object]) -> LockAudit:
    """`npm audit --json`: advisories are named by the GHSA id in their URL."""
    if "error" in report:
        return LockAudit(source, 0, [], {"(all)": f"npm audit failed: {report['error']}"})
    findings: list[Finding] = []
    vulnerabilities = report.get("vulnerabilities", {})
    assert isinstance(vulnerabilities, dict)
    for name, entry in vulnerabilities.items():
        for via in entry.get("via", []):
            if not isinstance(via, dict):
                continue  # a package that is only vulnerable through another one
            url = str(via.get("url", ""))
            match = _GHSA.search(url)
            findings.append(
                Finding(
                    source=source,
                    package=name,
                    version=str(entry.get("range", "")),
                    id=match.group(0) if match else str(via.get("source")),
                    summary=str(via.get("title", ""))[:160],
                )
            )
    metadata = report.get("metadata", {})
    counts = metadata.get("dependencies", {}) if isinstance(metadata, dict) else {}
    audited = int(counts.get("total", 0)) if isinstance(counts, dict) else 0
    return LockAudit(source, audited or len(vulnerabilities), findings, {})


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


def audit_python_lock(root: Path, lock: str, run: Runner = _run) -> LockAudit:
    command = [
        sys.executable, "-m", "pip_audit", "-r", str(root / lock), "--no-deps", "--disable-pip",
        "--progress-spinner", "off", "--format", "json",
    ]  # fmt: skip
    result = run(command)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return LockAudit(
            lock, 0, [], {"(all)": f"pip-audit failed: {result.stderr.strip()[-300:]}"}
        )
    return parse_pip_audit(lock, report)


def audit_npm_lock(root: Path, run: Runner = _run) -> LockAudit:
    command = ["npm", "audit", "--package-lock-only", "--omit=dev", "--json", "--prefix", str(root)]
    result = run(command)
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        report = {"error": result.stderr.strip()[-300:]}
    return parse_npm_audit("package-lock.json", report)


@dataclass
class Verdict:
    accepted: list[tuple[Finding, Acceptance]]
    refused: list[Finding]
    unreachable: list[str]  # lock files whose service answered nothing
    not_audited: dict[str, dict[str, str]]  # lock -> package -> reason (partial gaps)
    stale: list[str]


def judge(audits: list[LockAudit], allowlist: Allowlist) -> Verdict:
    findings = [f for a in audits for f in a.findings]
    accepted, refused = [], []
    for finding in findings:
        acceptance = allowlist.accepts(finding)
        if acceptance is None:
            refused.append(finding)
        else:
            accepted.append((finding, acceptance))
    unreachable = [a.source for a in audits if a.service_unreachable]
    gaps = {a.source: a.not_audited for a in audits if a.not_audited and not a.service_unreachable}
    stale = allowlist.unused(findings) if not unreachable else []
    return Verdict(accepted, refused, unreachable, gaps, stale)


def report_lines(verdict: Verdict) -> list[str]:
    lines: list[str] = []
    for lock in verdict.unreachable:
        lines.append(
            f"AUDIT NOT RUN for {lock}: no advisory service answered for any of its pins "
            "(the network reaches the package index but not its vulnerability feed)"
        )
    for lock, gaps in verdict.not_audited.items():
        for package, reason in sorted(gaps.items()):
            lines.append(f"not audited ({lock}): {package}: {reason}")
    for finding, acceptance in verdict.accepted:
        lines.append(
            f"accepted: {finding.package} {finding.version} {finding.id} ({acceptance.rule}): "
            f"{acceptance.reason}"
        )
    for finding in verdict.refused:
        fixed = ", ".join(finding.fixed_in) or "no fix yet"
        lines.append(
            f"VULNERABLE: {finding.package} {finding.version} ({finding.source}) {finding.id} "
            f"[{', '.join(finding.aliases)}] fixed in {fixed}: {finding.summary}"
        )
    for entry in verdict.stale:
        lines.append(f"allow-list entry no longer needed: {entry} (remove it)")
    return lines


def run_audit(
    root: Path, *, require_service: bool, log: Callable[[str], None], run: Runner = _run
) -> int:
    """0: nothing unaccepted (or, without `require_service`, nothing could be looked up);
    1: an advisory the allow-list does not accept; 2: no service answered and one is required."""
    allowlist = Allowlist.load(root / ALLOWLIST)
    audits = []
    for lock in LOCK_FILES:
        log(f"Auditing the pins of {lock} with pip-audit...")
        audits.append(audit_python_lock(root, lock, run))
    log("Auditing package-lock.json with npm audit...")
    audits.append(audit_npm_lock(root, run))
    verdict = judge(audits, allowlist)
    for line in report_lines(verdict):
        log(line)
    audited = sum(a.audited for a in audits)
    log(
        f"{audited} pins audited, {len(verdict.accepted)} advisories accepted by the allow-list, "
        f"{len(verdict.refused)} not accepted"
    )
    if verdict.refused:
        return 1
    if verdict.unreachable and require_service:
        return 2
    return 0
