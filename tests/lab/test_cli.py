"""`supportbot-lab`: clear errors, and the console's synthetic conversations and list benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from supportbot.settings import get_settings


@pytest.fixture
def url(crm_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    return crm_url


def test_bench_nlu_with_another_config_needs_its_own_results_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "candidate.yml"
    assert main(["bench-nlu", "--config", str(config), "--results", str(tmp_path)]) == 2
    assert f"--config {config}: no such file" in capsys.readouterr().err
    config.write_text("pipeline: []\n")
    # Without --results its cells would land among the documented run's in reports/nlu.
    assert main(["bench-nlu", "--config", str(config)]) == 2
    assert "--config needs --results" in capsys.readouterr().err


# The command migrates first, and Alembic runs its own transaction on an engine
# (supportbot/store/migrations/env.py), which the test's rolled-back connection cannot host.
@pytest.mark.committed
def test_seed_conversations_and_bench(url: str, capsys: pytest.CaptureFixture[str]):
    assert main(["console", "seed-conversations", "--count", "120", "--seed", "3"]) == 0
    assert "Created 120 conversations" in capsys.readouterr().out
    # Same seed again: nothing new, nothing duplicated.
    assert main(["console", "seed-conversations", "--count", "120", "--seed", "3"]) == 0
    assert "Created 0 conversations (120 were already there)" in capsys.readouterr().out
    assert main(["console", "bench-list", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "| no filter | 1 |" in out and "| combined |" in out
