"""Synthetic conversations for sizing the console, and a benchmark of its list query.

`seed_conversations` writes realistic-looking interactions (no message text: the CRM never has
any) for the CRM's customers, with reviews and tags; `bench_list` times the list query.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import func, insert, select

from lab.latency import p50_p95
from supportbot.console.conversations import (
    ConversationFilter,
    list_conversations,
    sentiment_band,
)
from supportbot.console.models import ConversationReview, ConversationTag, ReviewStatus
from supportbot.crm.models import Customer, Interaction
from supportbot.crm.profile import sentiment_trend
from supportbot.settings import PROJECT_ROOT
from supportbot.store import crm_session

SMALL_TALK = {"greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", "inform"}
# Topics whose customers tend to be unhappy, and how much (shifts the mean message score).
MOOD = {
    "complaint": -0.55,
    "payment_issue": -0.35,
    "track_refund": -0.2,
    "get_refund": -0.2,
    "track_order": -0.1,
    "cancel_order": -0.1,
    "delete_account": -0.15,
    "contact_human_agent": -0.25,
    "ask_recommendation": 0.3,
    "place_order": 0.2,
    "newsletter_subscription": 0.15,
}
TAGS = ["billing", "late-delivery", "bug", "wrong-intent", "vip", "refund", "training_data"]
NOTES = [
    "Customer asked twice before the bot understood.",
    "Good answer; nothing to change.",
    "Intent misclassified: add paraphrases for this wording.",
    "Handoff was right, the agent resolved it.",
    "The order lookup failed because of a typo in the number.",
    "Needs a knowledge-base article for this question.",
]
_FALLBACK_INTENTS = [*sorted(MOOD), "check_invoice", "delivery_period", "change_order"]


def domain_intents() -> list[str]:
    """The support intents of domain.yml (small talk left out)."""
    try:
        domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
        intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        intents = _FALLBACK_INTENTS
    return [i for i in intents if i not in SMALL_TALK and i != "out_of_scope"]


@dataclass(frozen=True)
class SeedSummary:
    created: int
    skipped: int
    reviews: int
    tags: int


def _conversation(
    rng: random.Random,
    sender_id: str,
    now: datetime,
    customer_ids: list[int],
    topics: list[str],
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    started = now - timedelta(seconds=rng.uniform(0, 90 * 24 * 3600))
    main = rng.choice(topics)
    intents = ["greet"] if rng.random() < 0.6 else []
    intents.append(main)
    intents += rng.sample(topics, k=rng.choice([0, 0, 1, 1, 2]))
    fallbacks = rng.choices([0, 1, 2], weights=[80, 15, 5])[0]
    intents += ["nlu_fallback"] * fallbacks
    intents += rng.sample(["affirm", "deny", "thank", "inform"], k=rng.randint(0, 2))
    if rng.random() < 0.4:
        intents.append("goodbye")
    mood = MOOD.get(main, 0.0) + rng.gauss(0, 0.3)
    scores = [round(max(-1.0, min(1.0, rng.gauss(mood, 0.35))), 4) for _ in intents]
    average = round(sum(scores) / len(scores), 4)
    # Unhappy conversations and explicit requests are handed off more often (~15 % overall).
    handoff_chance = (
        0.05
        + (0.2 if sentiment_band(average) == "negative" else 0)
        + (0.5 if main.startswith("contact") else 0)
    )
    handoff = rng.random() < handoff_chance
    outcome = "handoff" if handoff else rng.choices(["resolved", None], weights=[70, 30])[0]
    csat = None
    if rng.random() < 0.3:
        csat = max(1, min(5, round(3.2 + 2.2 * average + rng.gauss(0, 0.8) - handoff * 0.5)))
    messages = [
        {
            "at": (started + timedelta(seconds=20 * i)).isoformat(),
            "intent": intent,
            "label": sentiment_band(s),
            "score": s,
        }
        for i, (intent, s) in enumerate(zip(intents, scores, strict=True))
    ]
    verified = customer_ids and rng.random() < 0.7
    ended = started + timedelta(seconds=20 * len(intents) + rng.randint(5, 600))
    estimate = 3.5 + 1.2 * (0.4 * average + 0.6 * scores[-1]) + 0.5 * (outcome == "resolved")
    estimate -= 0.5 * handoff + 0.4 * min(fallbacks, 3)
    interaction = {
        "sender_id": sender_id,
        "customer_id": rng.choice(customer_ids) if verified else None,
        "verified_via": rng.choice(["order_email", "token"]) if verified else None,
        "verified_at": started + timedelta(seconds=45) if verified else None,
        "started_at": started,
        "ended_at": ended if outcome else None,
        "intents": intents,
        "outcome": outcome,
        "handoff": handoff,
        "message_sentiments": messages,
        "sentiment_average": average,
        "sentiment_trend": sentiment_trend(scores),
        "fallback_count": fallbacks,
        "satisfaction_estimate": round(min(5.0, max(1.0, estimate)), 2),
        "csat_rating": csat,
        "csat_comment": None,
        "csat_at": ended if csat else None,
    }
    review = None
    if rng.random() < 0.12:
        status = rng.choices(
            [ReviewStatus.REVIEWED, ReviewStatus.NEEDS_TRAINING_DATA], weights=[70, 30]
        )[0]
        review = {
            "sender_id": sender_id,
            "status": status,
            "notes": rng.choice(NOTES) if rng.random() < 0.6 else "",
            "updated_at": ended,
            "updated_by": None,
        }
    tags = rng.sample(TAGS, k=rng.choice([1, 1, 2])) if rng.random() < 0.1 else []
    return interaction, review, tags


def seed_conversations(
    url: str | None,
    *,
    count: int,
    seed: int = 7,
    batch_size: int = 1000,
    progress: Callable[[str], None] = print,
) -> SeedSummary:
    """Add `count` synthetic conversations (ids `syn-<seed>-<n>`; existing ones are skipped)."""
    if count < 1:
        raise ValueError("--count must be at least 1")
    rng = random.Random(seed)
    prefix = f"syn-{seed}-"
    now = datetime.now(UTC)
    topics = domain_intents()
    with crm_session(url) as crm:
        customer_ids = list(crm.session.scalars(select(Customer.id).order_by(Customer.id)))
        existing = set(
            crm.session.scalars(
                select(Interaction.sender_id).where(Interaction.sender_id.like(f"{prefix}%"))
            )
        )
    created = reviews = tags = 0
    started = time.perf_counter()
    for batch_start in range(0, count, batch_size):
        interactions, review_rows, tag_rows = [], [], []
        for index in range(batch_start, min(count, batch_start + batch_size)):
            sender_id = f"{prefix}{index:06d}"
            # Drawn even when skipped, so the same seed always makes the same conversations.
            interaction, review, tag_list = _conversation(rng, sender_id, now, customer_ids, topics)
            if sender_id in existing:
                continue
            interactions.append(interaction)
            if review:
                review_rows.append(review)
            tag_rows += [
                {"sender_id": sender_id, "tag": tag, "created_at": now} for tag in tag_list
            ]
        if interactions:
            with crm_session(url) as crm:
                crm.session.execute(insert(Interaction), interactions)
                if review_rows:
                    crm.session.execute(insert(ConversationReview), review_rows)
                if tag_rows:
                    crm.session.execute(insert(ConversationTag), tag_rows)
        created += len(interactions)
        reviews += len(review_rows)
        tags += len(tag_rows)
        done = min(count, batch_start + batch_size)
        progress(f"  {done}/{count} conversations ({time.perf_counter() - started:.1f} s)")
    return SeedSummary(created=created, skipped=count - created, reviews=reviews, tags=tags)


# --- the list benchmark -------------------------------------------------------------------


def bench_filters(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Typical console searches (the tag and words are those the seed uses)."""
    today = (now or datetime.now(UTC)).date()
    return {
        "no filter": {},
        "free text": {"q": "costa"},
        "intent": {"intent": "track_order"},
        "sentiment": {"sentiment": "negative"},
        "handoff": {"handoff": True},
        "csat": {"csat": "rated"},
        "review status": {"review_status": "needs_training_data"},
        "date range": {"date_from": today - timedelta(days=14), "date_to": today},
        "tag": {"tag": "billing"},
        "combined": {
            "intent": "complaint",
            "sentiment": "negative",
            "handoff": False,
            "date_from": today - timedelta(days=30),
        },
    }


@dataclass(frozen=True)
class Timing:
    name: str
    page: int
    matches: int
    p50_ms: float
    p95_ms: float


def bench_list(url: str | None, *, repeat: int = 30, page_size: int = 25) -> list[Timing]:
    """Time `list_conversations` (count + page + tags) per filter, on page 1 and the last page."""
    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    timings = []
    for name, params in bench_filters().items():
        f = ConversationFilter(**params)
        with crm_session(url) as crm:
            first = list_conversations(crm.session, f, page=1, page_size=page_size)
            pages = sorted({1, max(1, first.pages)})
            for page in pages:
                samples = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    list_conversations(crm.session, f, page=page, page_size=page_size)
                    samples.append((time.perf_counter() - start) * 1000)
                p50, p95 = p50_p95(samples)
                timings.append(Timing(name, page, first.total, round(p50, 2), round(p95, 2)))
    return timings


def conversation_count(url: str | None) -> int:
    with crm_session(url) as crm:
        return crm.session.scalar(select(func.count(Interaction.id))) or 0


def format_timings(timings: list[Timing]) -> str:
    lines = [
        "| filter | page | matches | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {t.name} | {t.page} | {t.matches} | {t.p50_ms} | {t.p95_ms} |" for t in timings]
    return "\n".join(lines)
