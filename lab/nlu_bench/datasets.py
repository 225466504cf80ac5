"""The public NLU datasets in one in-memory form, and writers to Rasa NLU YAML.

Every loader returns a `Split` of `Utterance`s (text, intent, entity spans as character offsets).
Intent names are made Rasa-safe ("Make Update" -> "Make_Update"). The datasets live in
../shared/datasets (override: $SUPPORTBOT_DATASETS_DIR); see each folder's SOURCE.md.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lab.datasets import DatasetMissing, bitext, datasets_dir

OOS = "oos"  # CLINC150's out-of-scope label, trained as its own class


@dataclass(frozen=True)
class Span:
    """An entity mention: `text[start:end]`, normalised `value`."""

    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Utterance:
    text: str
    intent: str
    entities: tuple[Span, ...] = ()


@dataclass
class Split:
    """A dataset's train and test parts."""

    name: str
    train: list[Utterance]
    test: list[Utterance]
    has_entities: bool = False
    notes: list[str] = field(default_factory=list)
    oos: str | None = None  # the out-of-scope label, where the set has one

    @property
    def intents(self) -> list[str]:
        return sorted({u.intent for u in self.train} | {u.intent for u in self.test})


def _file(*parts: str) -> Path:
    path = datasets_dir().joinpath(*parts)
    if not path.exists():
        raise DatasetMissing(f"{path} not found; set SUPPORTBOT_DATASETS_DIR")
    return path


def safe_intent(name: str) -> str:
    """Rasa-safe intent name: spaces and punctuation become underscores."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name.strip())


# Control characters and line breaks would break the YAML block; replaced one for one so that
# entity offsets stay valid.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _clean(text: str, spans: Iterable[Span] = ()) -> tuple[str, tuple[Span, ...]]:
    text = _CONTROL.sub(" ", text)
    stripped = text.lstrip()
    shift = len(text) - len(stripped)
    stripped = stripped.rstrip()
    kept = []
    for s in spans:
        start, end = s.start - shift, s.end - shift
        if 0 <= start < end <= len(stripped):
            kept.append(Span(start, end, s.entity, s.value))
    return stripped, tuple(sorted(kept, key=lambda s: s.start))


def _utterance(text: str, intent: str, spans: Iterable[Span] = ()) -> Utterance:
    cleaned, kept = _clean(text, spans)
    # Overlapping spans cannot be written inline: keep the first of each overlap.
    chosen: list[Span] = []
    for span in kept:
        if not chosen or span.start >= chosen[-1].end:
            chosen.append(span)
    return Utterance(cleaned, safe_intent(intent), tuple(chosen))


def _text_category_csv(path: Path) -> list[Utterance]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            _utterance(row["text"], row["category"])
            for row in csv.DictReader(handle)
            if row["text"].strip()
        ]


def load_banking77() -> Split:
    return Split(
        "banking77",
        _text_category_csv(_file("banking77", "train.csv")),
        _text_category_csv(_file("banking77", "test.csv")),
    )


def load_hwu64(test_fold: int = 1, name: str = "hwu64") -> Split:
    """KFold_1 standard split (test = fold 1, train = folds 2-10) with the authors' spans."""
    train: list[Utterance] = []
    test: list[Utterance] = []
    path = _file("hwu64_nlu_evaluation_data", "hwu64_10fold_annotated.jsonl")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if test_fold != 1 and row["fold"] == 1:
                continue  # the standard test fold stays unseen while tuning
            spans = [
                Span(int(e["start"]), int(e["end"]), e["entity"], str(e["value"]))
                for e in row["entities"]
            ]
            (test if row["fold"] == test_fold else train).append(
                _utterance(row["text"], row["intent"], spans)
            )
    return Split(name, train, test, has_entities=True)


def load_hwu64_dev() -> Split:
    """For tuning: fold 2 as the test part, folds 3-10 to train on; fold 1 is left out."""
    split = load_hwu64(test_fold=2, name="hwu64_dev")
    split.notes.append("Folds 3-10 train, fold 2 tests; the standard test fold 1 is not used.")
    return split


def load_hwu64_dev_small(size: int = 100) -> Split:
    """For tuning on a tiny training set, like Braun's: a seeded sample of `size` utterances
    of folds 3-10; fold 2 tests."""
    split = load_hwu64_dev()
    train = random.Random(7).sample(sorted(split.train, key=lambda u: u.text), size)
    notes = [f"A seeded sample of {size} utterances of folds 3-10 trains; fold 2 tests."]
    return Split("hwu64_dev_small", train, split.test, has_entities=True, notes=notes)


def load_clinc150() -> Split:
    """The "full" variant: 150 intents plus `oos` as a 151st class (oos-train setting)."""
    data = json.loads(_file("clinc150_oos_eval", "data_full.json").read_text(encoding="utf-8"))
    train = [_utterance(t, label) for t, label in data["train"] + data["oos_train"]]
    test = [_utterance(t, label) for t, label in data["test"] + data["oos_test"]]
    return Split("clinc150", train, test, oos=OOS)


def load_clinc150_val() -> Split:
    """CLINC150's own validation split (val + oos_val) as the test part: where the fallback
    threshold is chosen, so that the test split stays unseen."""
    data = json.loads(_file("clinc150_oos_eval", "data_full.json").read_text(encoding="utf-8"))
    train = [_utterance(t, label) for t, label in data["train"] + data["oos_train"]]
    val = [_utterance(t, label) for t, label in data["val"] + data["oos_val"]]
    return Split("clinc150_val", train, val, notes=["Tested on the validation split."], oos=OOS)


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def _from_bitext(example: bitext.Example) -> Utterance:
    spans = []
    if example.entity is not None:
        value = example.value or example.text[example.start : example.end]
        spans.append(Span(example.start, example.end, example.entity, value))
    return _utterance(example.text, example.intent, spans)


def load_bitext() -> Split:
    """Train split vs test split; train utterances repeating a test one (up to case) dropped."""
    directory = _file("bitext_customer_support", "intent_detection_splits")
    test = [_from_bitext(e) for e in bitext.load_split("test", directory)]
    held_out = {_normalised(u.text) for u in test}
    all_train = [_from_bitext(e) for e in bitext.load_split("train", directory)]
    train = [u for u in all_train if _normalised(u.text) not in held_out]
    notes = []
    if len(train) < len(all_train):
        notes.append(
            f"{len(all_train) - len(train)} train utterances equal to a test one "
            "(ignoring case) were left out of training."
        )
    return Split("bitext", train, test, has_entities=True, notes=notes)


QUICK_INTENTS = (
    "check_cancellation_fee",
    "check_refund_policy",
    "get_refund",
    "track_refund",
    "cancel_order",
    "change_order",
    "place_order",
    "track_order",
)


def load_bitext_quick(per_intent_train: int = 25, per_intent_test: int = 10) -> Split:
    """CI-sized Bitext: 8 neighbouring intents (refunds, orders), a seeded sample of each."""
    full = load_bitext()
    rng = random.Random(5)

    def sample(utterances: list[Utterance], per_intent: int) -> list[Utterance]:
        by_intent: dict[str, list[Utterance]] = defaultdict(list)
        for u in utterances:
            by_intent[u.intent].append(u)
        chosen = []
        for intent in QUICK_INTENTS:
            pool = sorted(by_intent[intent], key=lambda u: u.text)
            chosen += rng.sample(pool, per_intent)
        return chosen

    return Split(
        "bitext_quick",
        sample(full.train, per_intent_train),
        sample(full.test, per_intent_test),
        has_entities=True,
        notes=[
            f"{len(QUICK_INTENTS)} Bitext intents, {per_intent_train} train and "
            f"{per_intent_test} test utterances each (seeded sample)."
        ],
    )


BRAUN_CORPORA = {
    "braun_askubuntu": "AskUbuntuCorpus.json",
    "braun_chatbot": "ChatbotCorpus.json",
    "braun_webapps": "WebApplicationsCorpus.json",
}


def _braun_span(text: str, entity: dict[str, object]) -> Span | None:
    """Character span of a Braun entity.

    Its start/stop are token indices of the authors' own tokenizer (which splits "11.10" into
    three), so the surface text is searched for, nearest to the whitespace-token position.
    """
    surface = str(entity["text"])
    start_token = int(str(entity["start"]))
    found = [m.start() for m in re.finditer(re.escape(surface), text)]
    if not found:
        found = [m.start() for m in re.finditer(re.escape(surface), text, re.IGNORECASE)]
    if not found:
        return None
    best = min(found, key=lambda at: abs(len(text[:at].split()) - start_token))
    return Span(best, best + len(surface), str(entity["entity"]), surface)


def load_braun(name: str) -> Split:
    """One Braun 2017 corpus, split by its own `training` flags."""
    path = _file("braun2017_nlu_evaluation_corpora", BRAUN_CORPORA[name])
    data = json.loads(path.read_text(encoding="utf-8"))
    train: list[Utterance] = []
    test: list[Utterance] = []
    lost = 0
    for sentence in data["sentences"]:
        spans = []
        for entity in sentence.get("entities", []):
            span = _braun_span(sentence["text"], entity)
            if span is None:
                lost += 1
            else:
                spans.append(span)
        utterance = _utterance(sentence["text"], sentence["intent"], spans)
        (train if sentence["training"] else test).append(utterance)
    notes = [f"{lost} entity mentions not found in their text were dropped."] if lost else []
    return Split(name, train, test, has_entities=True, notes=notes)


LOADERS: dict[str, Callable[[], Split]] = {
    "banking77": load_banking77,
    "hwu64": load_hwu64,
    "hwu64_dev": load_hwu64_dev,
    "hwu64_dev_small": load_hwu64_dev_small,
    "clinc150": load_clinc150,
    "clinc150_val": load_clinc150_val,
    "bitext": load_bitext,
    **{name: partial(load_braun, name) for name in BRAUN_CORPORA},
    "bitext_quick": load_bitext_quick,
}
# What `bench-nlu --dataset` accepts; "braun" stands for its three corpora.
CHOICES = (
    *("banking77", "hwu64", "hwu64_dev", "hwu64_dev_small", "clinc150", "clinc150_val"),
    *("bitext", "braun"),
    *BRAUN_CORPORA,
)
# Large sets: the stock pipeline's epochs may be capped there.
LARGE = frozenset({"banking77", "hwu64", "hwu64_dev", "clinc150", "clinc150_val"})


def load(name: str) -> Split:
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(LOADERS)}") from None
    return loader()


# Characters with a meaning in Rasa's inline entity annotation; replaced one for one.
_ANNOTATION_CHARS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})


def annotated(utterance: Utterance) -> str:
    """The utterance in Rasa's inline annotation syntax."""
    parts, at = [], 0
    text = utterance.text
    for span in utterance.entities:
        parts.append(text[at : span.start].translate(_ANNOTATION_CHARS))
        surface = text[span.start : span.end].translate(_ANNOTATION_CHARS)
        value = span.value.translate(_ANNOTATION_CHARS)
        if value == surface:
            parts.append(f"[{surface}]({span.entity})")
        else:
            entity = json.dumps({"entity": span.entity, "value": value})
            parts.append(f"[{surface}]{entity}")
        at = span.end
    parts.append(text[at:].translate(_ANNOTATION_CHARS))
    return "".join(parts)


def to_rasa_yaml(utterances: Iterable[Utterance], header: str = "") -> str:
    """Rasa 3.x NLU YAML, intents sorted by name."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for u in utterances:
        by_intent[u.intent].append(annotated(u))
    lines = [f"# {line}".rstrip() for line in header.strip().splitlines()]
    lines += ['version: "3.1"', "", "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"


def gold_cases(utterances: Iterable[Utterance]) -> list[dict[str, object]]:
    """The test messages as JSON-ready dicts (the evaluation input, gold labels included)."""
    return [
        {
            "text": u.text,
            "intent": u.intent,
            "entities": [
                {"start": s.start, "end": s.end, "entity": s.entity, "value": s.value}
                for s in u.entities
            ],
        }
        for u in utterances
    ]
