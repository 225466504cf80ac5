"""What masking adds to a turn: the tracker store's save, with and without it, over many turns.

Runs in Rasa's environment against a running action server (its POST /privacy/redact), which it
finds as Rasa does, from ACTION_SERVER_URL and SUPPORTBOT_ACTION_SECRET:

    env $(.venv/bin/supportbot env) SUPPORTBOT_ACTION_SECRET=... \\
        .venv-rasa/bin/python -m lab.transcript_masking [--turns 400 | --quick]

Two RecentEventsTrackerStores on SQLite files of their own save the same turns, alternately so
that the machine's load falls on both alike: one masks the configured types (by default the
pattern types: emails, phones, cards, IBANs), one masks nothing. A
turn is what the assistant writes for one message (the message, the sentiment slot, two actions,
the reply, action_listen), from a support mix in which half the turns have a digit or an '@' in
the message or the reply, and only those are sent to the action server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered

from assistant.tracker_store import RecentEventsTrackerStore
from assistant.transcript_redaction import PLACEHOLDER, TranscriptRedactor
from common.stored_pii import PATTERN_TYPES, could_hold
from lab.latency import p50_p95

ROOT = Path(__file__).resolve().parents[1]
TURNS, QUICK_TURNS = 400, 20
TURNS_PER_CONVERSATION = 20
# (customer message, the bot's reply): half of them hold a digit or an '@'.
EXCHANGES = [
    ("where is my order?", "Sure, which order is it about?"),
    ("hi there", "Hi! How can I help you today?"),
    ("I want to cancel my order", "I can help with that. Which order should I cancel?"),
    ("how do I return an item?", "Start a return from Orders in your account, within a month."),
    ("thanks, that's all", "You're welcome!"),
    ("100123", "To keep your account safe, what's the email address you used for order 100123?"),
    ("it's ada.lovelace@example.com", "Thanks, Ada, you're verified. Order 100123 shipped."),
    ("show my invoices", "Your invoices: INV-500001 (49.90 USD, paid), INV-500002 (12.00 USD)."),
    ("card 4111 1111 1111 1111 charged twice", "I'm sorry. I've opened ticket T-000042 for it."),
    ("call me on +1 415 555 0132", "A person from our team will call you back today."),
]


def turn(index: int) -> list[Event]:
    text, reply = EXCHANGES[index % len(EXCHANGES)]
    parse_data = {"intent": {"name": "inform", "confidence": 0.9}, "entities": [], "text": text}
    return [
        UserUttered(text, parse_data=parse_data, metadata={"client": "5f3a9c"}),
        SlotSet("sentiment", {"label": "neutral", "score": round(random.random(), 4)}),
        ActionExecuted("action_analyse_sentiment"),
        ActionExecuted("action_answer"),
        BotUttered(reply),
        ActionExecuted("action_listen"),
    ]


def has_candidate(index: int) -> bool:
    """Whether the turn has a string with a digit or an '@' (the default types' candidates)."""
    return any(could_hold(text, PATTERN_TYPES) for text in EXCHANGES[index % len(EXCHANGES)])


async def timed_save(store: RecentEventsTrackerStore, index: int) -> float:
    tracker = await store.get_or_create_tracker(f"bench-{index // TURNS_PER_CONVERSATION}")
    for event in turn(index):
        tracker.update(event)
    started = time.perf_counter()
    await store.save(tracker)
    return (time.perf_counter() - started) * 1000


async def measure(turns: int, work: Path) -> dict[tuple[str, bool], list[float]]:
    """Save times in ms, by (masking or not, whether the turn had a candidate string)."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    masking = TranscriptRedactor.from_environment()
    if masking.url is None:
        raise SystemExit("ACTION_SERVER_URL is not set: run with `env $(supportbot env)`")
    if await masking.stored_events([{"event": "bot", "text": "call 0123 456789"}]) == [
        {"event": "bot", "text": PLACEHOLDER}
    ]:
        raise SystemExit(f"the action server did not mask at {masking.url}: is it running?")
    stores = {
        name: RecentEventsTrackerStore(
            domain=domain, dialect="sqlite", db=str(work / f"{name}.db"), redactor=redactor
        )
        for name, redactor in (("off", TranscriptRedactor(None, "", ())), ("on", masking))
    }
    timings: dict[tuple[str, bool], list[float]] = {}
    for index in range(turns):
        for name, store in stores.items():
            timings.setdefault((name, has_candidate(index)), []).append(
                await timed_save(store, index)
            )
        if (index + 1) % 100 == 0:
            print(f"  {index + 1}/{turns} turns", file=sys.stderr)
    return timings


def report(timings: dict[tuple[str, bool], list[float]]) -> str:
    lines = [
        "| turns | n | save without masking p50 / p95 | with masking p50 / p95 | added p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, kinds in (
        ("without a digit or '@'", [False]),
        ("with a digit or '@'", [True]),
        ("all", [False, True]),
    ):
        off = [t for kind in kinds for t in timings.get(("off", kind), [])]
        on = [t for kind in kinds for t in timings.get(("on", kind), [])]
        if not off:
            continue
        (off50, off95), (on50, on95) = p50_p95(off), p50_p95(on)
        lines.append(
            f"| {label} | {len(on)} | {off50:.1f} / {off95:.1f} ms | {on50:.1f} / {on95:.1f} ms "
            f"| {on50 - off50:+.1f} ms |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=TURNS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TURNS} turns (a smoke test)")
    args = parser.parse_args(argv)
    turns = QUICK_TURNS if args.quick else args.turns
    with tempfile.TemporaryDirectory(prefix="transcript-masking-") as work:
        timings = asyncio.run(measure(turns, Path(work)))
    print(f"Masked types: {', '.join(TranscriptRedactor.from_environment().entities) or 'none'}")
    print(report(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
