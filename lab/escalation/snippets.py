"""The labelled escalation snippets (data/escalation/*.jsonl) and their features.

Each snippet's messages are scored by the same sentiment model and VADER as the running action
server, so the decision learns from what it will see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supportbot.encoder import get_sentence_encoder
from supportbot.escalation import CUES, MAX_TURNS, Turn
from supportbot.sentiment import SentimentModel, VaderSentiment
from supportbot.sentiment.features import normalise
from supportbot.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "data" / "escalation"
TRAIN = DATA_DIR / "train.jsonl"
TEST = DATA_DIR / "test.jsonl"
TEST2 = DATA_DIR / "test2.jsonl"
TIERS = frozenset({"bronze", "silver", "gold", "platinum"})
ESCALATE = frozenset(
    {
        "building_anger",
        "intense_single",
        "sarcasm",
        "repeat_contact",
        "threat_to_leave",
        "high_value_unhappy",
        "distrust_bot",
        "asks_for_person",
    }
)
# The project's own NLU examples are ordinary requests; these intents may hold anger or a request
# for a person, so they are left out of the negatives. A complaint counts only when calm ("I want
# to make a complaint": the ticket form's job).
NOT_ORDINARY = frozenset({"contact_human_agent", "contact_customer_service", "review"})
CALM_COMPLAINT = -0.3
SEED = 17
# About half anonymous, as in the labelled snippets, the rest spread over the tiers.
ORDINARY_TIERS: tuple[str | None, ...] = (
    None,
    "bronze",
    None,
    "silver",
    None,
    "gold",
    None,
    "platinum",
)
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
CARRY_ON = frozenset(
    {"calm_bad_news", "negative_not_about_us", "mild_annoyance", "calmed_down", "neutral"}
)


@dataclass(frozen=True)
class Snippet:
    id: str
    turns: tuple[str, ...]
    tier: str | None
    escalate: bool
    category: str


def read_snippets(path: Path) -> list[Snippet]:
    """Every line of a snippet file, checked against GUIDELINES.md's format."""
    if not path.is_file():
        raise FileNotFoundError(f"no escalation snippets at {path}")
    snippets = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not JSON ({error.msg})") from None
        turns = row.get("turns")
        if (
            not isinstance(turns, list)
            or not 1 <= len(turns) <= MAX_TURNS
            or not all(isinstance(t, str) and t.strip() for t in turns)
        ):
            raise ValueError(f"{where}: `turns` must be 1 to {MAX_TURNS} non-empty messages")
        tier = row.get("tier")
        if tier is not None and tier not in TIERS:
            raise ValueError(f"{where}: unknown tier {tier!r}")
        category = row.get("category")
        escalate = row.get("escalate")
        if not isinstance(escalate, bool) or category not in (ESCALATE if escalate else CARRY_ON):
            raise ValueError(f"{where}: category {category!r} does not fit escalate={escalate!r}")
        snippets.append(
            Snippet(
                id=str(row.get("id") or number),
                turns=tuple(turns),
                tier=tier,
                escalate=escalate,
                category=category,
            )
        )
    return snippets


def ordinary_requests(directory: Path = NLU_DIR) -> list[Snippet]:
    """The hand-written NLU examples (not Bitext's) as `neutral` snippets of 1 to 5 messages.

    The writers' snippets are mostly about problems; in a real conversation most messages are
    an order number, an email, "yes", "bye" or a plain request, and the decision must learn
    that these need no person, in long conversations and from any tier as well. Each example is
    the last message of a snippet whose earlier messages are the examples before it (a seeded
    shuffle). Examples VADER finds intense are left out: a few requests are written angrily,
    and this label would be wrong for them.
    """
    import random

    import yaml

    lexicon = VaderSentiment()
    texts = []
    for path in sorted(directory.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = block.get("intent")
            if not intent or intent in NOT_ORDINARY:
                continue
            limit = CALM_COMPLAINT if intent == "complaint" else -0.5
            for line in str(block.get("examples") or "").splitlines():
                text = _ANNOTATION.sub(lambda match: match[1], line.strip().removeprefix("- "))
                # Nor those with an escalation cue ("i will not shop here anymore"): whether
                # they need a person is the labelled snippets' to say.
                cued = any(cue.search(text) for cue in CUES)
                if text and not cued and lexicon.analyse([text])[0].score > limit:
                    texts.append((intent, text))
    random.Random(SEED).shuffle(texts)
    snippets = []
    for index, (intent, text) in enumerate(texts):
        earlier = [t for _, t in texts[max(0, index - index % MAX_TURNS) : index]]
        snippets.append(
            Snippet(
                id=f"nlu-{intent}-{index}",
                turns=(*earlier, text),
                # Verified customers of every tier ask ordinary things too; without them the
                # decision learned that a platinum customer needs a person.
                tier=ORDINARY_TIERS[index % len(ORDINARY_TIERS)],
                escalate=False,
                category="neutral",
            )
        )
    return snippets


def score_turns(
    snippets: Sequence[Snippet],
    model: SentimentModel,
    log: Callable[[str], None] = print,
) -> list[list[Turn]]:
    """Every snippet's messages with the sentiment model's score and VADER's intensity."""
    texts = [text for snippet in snippets for text in snippet.turns]
    log(f"Scoring {len(texts)} messages of {len(snippets)} snippets with {model.name} and VADER")
    sentiments = model.analyse(texts)
    intensities = VaderSentiment().analyse(texts)
    scored = iter(zip(texts, sentiments, intensities, strict=True))
    result = []
    for snippet in snippets:
        turns = []
        for _ in snippet.turns:
            text, sentiment, intensity = next(scored)
            turns.append(Turn(text=text, score=sentiment.score, intensity=intensity.score))
        result.append(turns)
    return result


def last_message_vectors(snippets: Sequence[Snippet]) -> np.ndarray:
    """The MiniLM sentence vector of each snippet's last message, (n, 384), as at run time."""
    texts = [normalise(snippet.turns[-1]) for snippet in snippets]
    encodings = get_sentence_encoder().encode(texts)
    return np.stack([encoding.sentence_vector for encoding in encodings]).astype(np.float64)
