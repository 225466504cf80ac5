"""`supportbot-lab bench-load --quick` runs both bots and reports (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from tests.stack import MODEL, RASA_PYTHON


@pytest.mark.bench
def test_the_quick_load_benchmark_runs_both_bots_and_reports(tmp_path: Path, capsys):
    if not MODEL.exists() or not RASA_PYTHON.exists():
        pytest.skip(f"needs a trained model at {MODEL} and Rasa's Python (run `make train`)")
    report = tmp_path / "load.md"

    assert main(["bench-load", "--quick", "--report", str(report)]) == 0

    text = report.read_text()
    assert "quick run: epochs capped" in text  # the handicapped baseline says so
    for section in ("## Targets", "## Throughput and latency", "## Where a turn's time goes"):
        assert section in text
    assert "**project: Rasa server**" in text and "**project: action server**" in text
    assert (tmp_path / "load-long-conversation.svg").read_text().startswith("<svg")
    # Nothing lost: every message the project's customers sent was answered and stored.
    (row,) = [line for line in text.splitlines() if line.startswith("| nothing lost (answered")]
    assert row.endswith("| yes |"), row
    assert "== Wrote" in capsys.readouterr().out
