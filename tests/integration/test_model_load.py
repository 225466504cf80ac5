"""assistant.server builds DIET's weights with one eager step: the model must come out exactly
as Rasa's own load makes it (weights and parses), or Rasa's load must be used."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.stack import MODEL, RASA_PYTHON, ROOT

pytestmark = pytest.mark.integration

MESSAGES = [
    "where is my order 100001?",
    "I want to cancel order 100002 please",
    "send the invoice INV-500002 to ada@example.com",
    "can I get a refund of $35 for my headphones",
    "this is the third time my parcel is late",
]


def test_the_fast_load_gives_rasas_model_exactly():
    if not MODEL.exists() or not RASA_PYTHON.exists():
        pytest.skip(f"needs a trained model at {MODEL} and Rasa's Python (run `make train`)")
    check = Path(__file__).with_name("model_load_check.py")
    done = subprocess.run(
        [str(RASA_PYTHON), str(check), str(MODEL), json.dumps(MESSAGES)],
        cwd=ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["variables"] > 0
    assert result == {**result, "same_weights": True, "same_parses": True}
