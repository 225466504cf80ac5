"""When a conversation should go to a person now: a learned decision, and the reason an agent reads.

The decision is a logistic regression over features of the conversation so far (the customer's
last few messages): the sentiment model's scores and their trajectory, VADER's intensity, cues
such as "third time" or "I'll go elsewhere", shouting, the customer's value tier, and the MiniLM
sentence vector of the last message (its wording: anger at us reads differently from bad news
about something else, and sarcasm from praise). It is trained
at setup from `data/escalation/train.jsonl` (`python -m lab.escalation.train`) and measured
against the old three-threshold rule on the untouched `test.jsonl`
(`supportbot-lab bench-escalation`, reports/escalation.md).

A linear model keeps every decision explained: each feature's contribution to the log-odds is its
weight times its standardised value (the vector's dimensions are summed into one "wording"
contribution), and the reason names the features that pushed hardest towards a person.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from supportbot.crm.profile import HIGH_VALUE_TIERS
from supportbot.settings import Settings, get_settings

MODEL_FILE = "model.json"
# The snippets the decision learned from hold 1 to 5 customer messages.
MAX_TURNS = 5
# Model scores at or below this count as negative messages.
NEGATIVE = -0.5


@dataclass(frozen=True)
class Turn:
    """One customer message: its text, the sentiment model's score and VADER's compound."""

    text: str
    score: float
    intensity: float


def _cue(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Cues in the customer's words. They are features, not rules: the model weighs them against the
# rest ("second time I order from you, love it" is not a repeat contact said in anger).
REPEAT_CONTACT = _cue(
    r"\b(second|2nd|third|3rd|fourth|4th|fifth|5th|\d+(st|nd|rd|th)?)\s+time",
    # Not "twice": "I was charged twice" is one problem, told once.
    r"\b(again|yet again|once more)\b",
    r"\balready\s+(asked|told|emailed|e-mailed|called|rang|phoned|wrote|written|contacted|"
    r"explained|sent|reported|complained|chatted)",
    r"\b(nobody|no one|noone|no-one)\s+(ever\s+)?(answers?|answered|replies|replied|responds?|"
    r"responded|gets? back|got back|helps?|helped|called|calls)",
    r"\bstill\s+(no|not|nothing|waiting|haven'?t|hasn'?t|didn'?t|don'?t|doesn'?t)",
    r"\b(keep|kept)\s+(asking|telling|getting|being|saying)",
    r"\b(for|since)\s+(weeks|days|months|ages)\b",
    r"\bevery\s+(single\s+)?time\b",
)
THREAT_TO_LEAVE = _cue(
    r"\b(close|delete|cancel|closing|deleting|cancelling|canceling)\s+(my|the)\s+account",
    r"\bnever\s+(again|(order|ordering|buy|buying|shop|shopping|use|using)\b)",
    r"\b(last|final)\s+(time|order)\b",
    r"\bcharge\s?-?back|\bdispute\b",
    r"\b(lawyer|solicitor|attorney|court|sue|legal action|small claims|trading standards|"
    r"ombudsman|regulator|consumer protection|bbb|better business)",
    r"\b(trustpilot|one[- ]star|1[- ]star|bad review|review everywhere|tell everyone|social media|"
    r"twitter|facebook|tiktok)",
    r"\b(go|going|take my (business|money))\s+(elsewhere|somewhere else)",
    r"\b(competitor|amazon)\b",
    r"\b(i'?m|i am)\s+(done|leaving|finished)\s+(with|here)",
    r"\bdone with (you|this)",
)
DISTRUST_BOT = _cue(
    r"\b(useless|stupid|dumb|pointless|worthless|hopeless)\s+(bot|robot|machine|chat|ai|assistant|"
    r"thing)",
    r"\b(bot|robot|machine|chatbot|ai)\s+(is|are)\s+(useless|stupid|no help|not helping|rubbish|"
    r"a joke)",
    r"\b(round|around)\s+in\s+circles|\bsame\s+(answer|reply|message)\b|\bloop\b",
    r"\b(you|u)\s+(don'?t|do not|didn'?t|dont)\s+(understand|get it|listen|read)",
    r"\bnot\s+(helping|helpful|what i asked)|\bno help\b|\bwaste of (my )?time\b",
)
ASKS_FOR_PERSON = _cue(
    r"\b(human|real person|actual person|a person|someone real|somebody real|live agent|"
    r"real agent|an agent|operator|representative|rep\b|manager|supervisor)",
    r"\b(speak|talk|chat)\s+(to|with)\s+(someone|somebody|a |an |your )",
)
SARCASM = _cue(
    r"\b(oh|just|how)\s+(great|wonderful|lovely|brilliant|fantastic|perfect|nice|amazing)\b",
    r"\b(love|loving)\s+(it|that|how|the way|waiting)\b",
    r"\bthanks?\s+(a lot|so much)?\s*for\s+nothing\b|\bthanks for (the|your) ['\"]?help['\"]?\b",
    r"\byeah,?\s+right\b|\bsure you (are|will|do)\b|\bwhat a (joke|surprise)\b|\bshocker\b",
    r"\bas (always|usual)\b|\bcolou?r me (surprised|shocked)\b|\bslow clap\b",
    "\U0001f644|\U0001f612|\U0001f621|\U0001f620|\U0001f92c",  # eye-roll, unamused, angry faces
)
# Calm or thankful closing words: the customer may have been upset, but is not now.
CALM = _cue(
    r"\b(thanks?|thank you|thx|ty|cheers|appreciate|great,? that|perfect,? that|ok,? that|"
    r"that (works|helps|fixes|solved|sorted))\b",
    r"\b(no worries|no problem|all good|fair enough|makes sense|understood)\b",
)
_WORD = re.compile(r"[A-Za-z]{3,}")
# What masking puts in place of personal data in stored messages (`<EMAIL_ADDRESS>`): not shouting.
_PLACEHOLDER = re.compile(r"<[A-Z_]+>")
# A clearly positive message hands over only with a cue in its own words (sarcasm, a request for
# a person...): the model alone read "thank you so much, that's really helpful!" and "great
# service" as needing a person. Many angry last messages score neutral ("so what now?"), so the
# bar is for clearly positive ones only.
MAY_ESCALATE_AT = 0.5
CUES = (REPEAT_CONTACT, THREAT_TO_LEAVE, DISTRUST_BOT, ASKS_FOR_PERSON, SARCASM)


def may_escalate(last: Turn) -> bool:
    """Whether the newest message can hand the conversation over at all."""
    return (
        last.score < MAY_ESCALATE_AT
        or _shouting(last.text) >= 0.5
        or any(cue.search(last.text) for cue in CUES)
    )


def _shouting(text: str) -> float:
    """The share of words of three letters or more written in capitals."""
    words = _WORD.findall(_PLACEHOLDER.sub(" ", text))
    if not words:
        return 0.0
    return sum(word.isupper() for word in words) / len(words)


def _any(pattern: re.Pattern[str], turns: Sequence[Turn]) -> float:
    return float(any(pattern.search(turn.text) for turn in turns))


@dataclass(frozen=True)
class Feature:
    name: str
    reason: str  # what an agent reads when this feature pushed towards a person
    compute: Callable[[Sequence[Turn], bool], float]


def _last(turns: Sequence[Turn]) -> Turn:
    return turns[-1]


# Every feature of the decision, in the model file's order.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "last_sentiment",
        "the last message is negative (sentiment {last_sentiment:.2f})",
        lambda t, h: _last(t).score,
    ),
    Feature(
        "min_sentiment",
        "the most negative message scored {min_sentiment:.2f}",
        lambda t, h: min(x.score for x in t),
    ),
    Feature(
        "mean_sentiment",
        "the conversation is negative overall (mean {mean_sentiment:.2f})",
        lambda t, h: sum(x.score for x in t) / len(t),
    ),
    Feature(
        "sentiment_change",
        "sentiment fell over the conversation ({sentiment_change:+.2f})",
        lambda t, h: _last(t).score - t[0].score,
    ),
    Feature(
        "negative_messages",
        "{negative_messages:.0f} negative messages",
        lambda t, h: float(sum(x.score <= NEGATIVE for x in t)),
    ),
    Feature(
        "last_intensity",
        "strong words in the last message (intensity {last_intensity:.2f})",
        lambda t, h: _last(t).intensity,
    ),
    Feature(
        "min_intensity",
        "the strongest message's intensity is {min_intensity:.2f}",
        lambda t, h: min(x.intensity for x in t),
    ),
    Feature(
        "repeat_contact",
        "says the problem is a repeat contact",
        lambda t, h: _any(REPEAT_CONTACT, t),
    ),
    Feature(
        "threat_to_leave",
        "threatens to leave, charge back or complain publicly",
        lambda t, h: _any(THREAT_TO_LEAVE, t),
    ),
    Feature(
        "distrust_bot", "says the assistant is not helping", lambda t, h: _any(DISTRUST_BOT, t)
    ),
    Feature("asks_for_person", "asks for a person", lambda t, h: _any(ASKS_FOR_PERSON, t)),
    Feature("sarcasm", "sarcasm cues", lambda t, h: _any(SARCASM, t)),
    Feature("shouting", "writes in capitals", lambda t, h: _shouting(_last(t).text)),
    Feature(
        "calm_last",
        "the last message is calm or thankful",
        lambda t, h: float(bool(CALM.search(_last(t).text))),
    ),
    Feature("turns", "{turns:.0f} messages without a resolution", lambda t, h: float(len(t))),
    Feature("high_value", "a high-value customer", lambda t, h: float(h)),
    Feature(
        "high_value_negative",
        "a high-value customer with a negative last message",
        lambda t, h: float(h) * max(0.0, -_last(t).score),
    ),
)
FEATURE_NAMES = tuple(feature.name for feature in FEATURES)
# The last message's sentence vector, as one contribution.
WORDING = Feature(
    "wording", "the wording is like that of customers who needed a person", lambda t, h: 0.0
)


def features(turns: Sequence[Turn], tier: str | None = None) -> dict[str, float]:
    """The decision's features for the customer's messages so far (the newest last)."""
    if not turns:
        raise ValueError("an escalation decision needs at least one customer message")
    recent = list(turns)[-MAX_TURNS:]
    high_value = tier in HIGH_VALUE_TIERS
    return {feature.name: float(feature.compute(recent, high_value)) for feature in FEATURES}


@dataclass(frozen=True)
class Decision:
    """Whether to hand over now, how sure the model is, and why."""

    escalate: bool
    probability: float
    threshold: float
    values: dict[str, float]
    contributions: dict[str, float]  # each feature's share of the log-odds (weight x z-score)
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The sentence an agent reads: the strongest reasons first."""
        listed = "; ".join(self.reasons) if self.reasons else "the conversation as a whole"
        return f"{listed} (P(needs a person) {self.probability:.2f})"

    def details(self) -> dict[str, Any]:
        """What the decisions table stores: no message text, only numbers."""
        return {
            "probability": round(self.probability, 4),
            "threshold": round(self.threshold, 4),
            "features": {k: round(v, 4) for k, v in self.values.items()},
            "contributions": {k: round(v, 4) for k, v in self.contributions.items()},
        }


class EscalationModelMissing(FileNotFoundError):
    """The escalation model has not been built (run `make setup`)."""


@dataclass(frozen=True)
class EscalationModel:
    """Standardised features, weights, intercept and the decision threshold."""

    means: dict[str, float]
    scales: dict[str, float]
    weights: dict[str, float]
    intercept: float
    threshold: float
    # The same for each dimension of the last message's sentence vector.
    vector_means: tuple[float, ...] = ()
    vector_scales: tuple[float, ...] = ()
    vector_weights: tuple[float, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def probability(
        self, values: dict[str, float], vector: npt.ArrayLike | None = None
    ) -> tuple[float, dict[str, float]]:
        contributions = {
            name: self.weights[name] * (values[name] - self.means[name]) / self.scales[name]
            for name in FEATURE_NAMES
        }
        if self.vector_weights:
            array = None if vector is None else np.asarray(vector, dtype=float)
            if array is None or array.shape != (len(self.vector_weights),):
                raise ValueError(
                    f"this escalation model needs the last message's "
                    f"{len(self.vector_weights)}-d sentence vector"
                )
            z = (array - self.vector_means) / self.vector_scales
            contributions[WORDING.name] = float(np.dot(self.vector_weights, z))
        logit = self.intercept + sum(contributions.values())
        return 1.0 / (1.0 + math.exp(-logit)), contributions

    def decide(
        self, turns: Sequence[Turn], tier: str | None = None, vector: npt.ArrayLike | None = None
    ) -> Decision:
        """The decision after the newest of `turns`; `vector` is its sentence vector."""
        values = features(turns, tier)
        probability, contributions = self.probability(values, vector)
        escalate = probability >= self.threshold and may_escalate(turns[-1])
        return Decision(
            escalate=escalate,
            probability=probability,
            threshold=self.threshold,
            values=values,
            contributions=contributions,
            reasons=explain(values, contributions) if escalate else [],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURE_NAMES),
            "means": self.means,
            "scales": self.scales,
            "weights": self.weights,
            "intercept": self.intercept,
            "threshold": self.threshold,
            "vector": {
                "means": list(self.vector_means),
                "scales": list(self.vector_scales),
                "weights": list(self.vector_weights),
            },
            "metadata": self.metadata,
        }

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        temporary.replace(path)  # a reader never sees half a model
        return path

    @classmethod
    def load(cls, directory: Path) -> EscalationModel:
        path = directory / MODEL_FILE
        if not path.is_file():
            raise EscalationModelMissing(
                f"no escalation model at {path}: run `make setup` "
                "(python -m lab.escalation.train --out DIR builds it)"
            )
        data = json.loads(path.read_text())
        if tuple(data.get("features", ())) != FEATURE_NAMES:
            raise EscalationModelMissing(
                f"{path} was trained on other features: rebuild it with `make setup`"
            )
        return cls(
            means=data["means"],
            scales=data["scales"],
            weights=data["weights"],
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            vector_means=tuple(data.get("vector", {}).get("means", ())),
            vector_scales=tuple(data.get("vector", {}).get("scales", ())),
            vector_weights=tuple(data.get("vector", {}).get("weights", ())),
            metadata=data.get("metadata", {}),
        )


# How many reasons an agent reads, and the smallest push towards a person worth naming.
MAX_REASONS = 3
MIN_CONTRIBUTION = 0.25


def explain(values: dict[str, float], contributions: dict[str, float]) -> list[str]:
    """The features that pushed hardest towards a person, in words, strongest first."""
    by_name = {feature.name: feature for feature in (*FEATURES, WORDING)}
    pushing = sorted(
        (item for item in contributions.items() if item[1] >= MIN_CONTRIBUTION),
        key=lambda item: item[1],
        reverse=True,
    )
    return [by_name[name].reason.format(**values) for name, _ in pushing[:MAX_REASONS]]


_lock = threading.Lock()
_model: EscalationModel | None = None


def get_escalation_model(settings: Settings | None = None) -> EscalationModel:
    """The process-wide escalation model, loaded on first use (thread-safe, once)."""
    global _model
    with _lock:
        if _model is None:
            _model = EscalationModel.load((settings or get_settings()).escalation_dir)
        return _model
