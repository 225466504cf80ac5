"""How long the running Rasa server takes to parse one message (issue target: p95 <= 30 ms).

Sends the held-out test messages, one at a time, to `POST /model/parse` of a running server, as
the channel would, and times each full HTTP round trip on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from lab.latency import p50_p95
from supportbot.console.training_data import plain_text
from supportbot.settings import PROJECT_ROOT

HELD_OUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
TARGET_P95_MS = 30.0


def held_out_messages(path: Path = HELD_OUT) -> list[str]:
    """The plain text of every example in a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    messages = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                messages.append(plain_text(text))  # without entity markup
    if not messages:
        raise ValueError(f"no examples in {path}")
    return messages


@dataclass(frozen=True)
class ParseLatency:
    messages: int
    p50_ms: float
    p95_ms: float
    mean_ms: float

    def summary(self) -> str:
        verdict = "met" if self.p95_ms <= TARGET_P95_MS else "MISSED"
        return (
            f"{self.messages} parses: p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, "
            f"mean {self.mean_ms:.1f} ms (target p95 <= {TARGET_P95_MS:.0f} ms: {verdict})"
        )


def measure(
    rasa_url: str,
    token: str | None,
    messages: list[str],
    *,
    rounds: int = 3,
    warmup: int = 20,
    log: Callable[[str], None] = print,
    transport: httpx.BaseTransport | None = None,
) -> ParseLatency:
    """Parse every message `rounds` times after `warmup` untimed parses."""
    if rounds < 1:
        raise ValueError("--rounds must be at least 1")
    # Only in a header: the project's Rasa refuses a token in the query (assistant/server.py).
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timings: list[float] = []
    with httpx.Client(
        base_url=rasa_url, headers=headers, timeout=30, transport=transport
    ) as client:

        def parse(text: str) -> float:
            started = time.perf_counter()
            response = client.post("/model/parse", json={"text": text})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise ValueError(f"Rasa answered {response.status_code} to /model/parse")
            return elapsed

        for text in messages[:warmup]:
            parse(text)
        for round_number in range(1, rounds + 1):
            timings += [parse(text) for text in messages]
            log(f"round {round_number}/{rounds}: {len(timings)} parses timed")
    p50, p95 = p50_p95(timings)
    return ParseLatency(len(timings), p50, p95, sum(timings) / len(timings))
