"""The Bitext customer-support intent dataset (CDLA-Sharing-1.0) as Rasa NLU data.

Only the train split may be trained on; dev and test are for evaluation.

    python -m lab.datasets.bitext train-subset --per-intent 45 --out data/nlu/bitext
    python -m lab.datasets.bitext split test --out tests/nlu/bitext_test.yml
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lab.datasets import DatasetMissing
from supportbot.settings import get_settings

Split = Literal["train", "dev", "test"]

TOPICS: dict[str, list[str]] = {
    "orders": ["cancel_order", "change_order", "place_order", "track_order"],
    "shipping": [
        "change_shipping_address",
        "set_up_shipping_address",
        "delivery_options",
        "delivery_period",
    ],
    "invoices": ["check_invoice", "get_invoice"],
    "payments": ["check_payment_methods", "payment_issue"],
    "refunds": ["check_cancellation_fee", "check_refund_policy", "get_refund", "track_refund"],
    "account": [
        "create_account",
        "delete_account",
        "edit_account",
        "recover_password",
        "registration_problems",
        "switch_account",
    ],
    "feedback": ["complaint", "review"],
    "contact": ["contact_customer_service", "contact_human_agent"],
    "newsletter": ["newsletter_subscription"],
}
# Characters with a meaning in Rasa's inline entity annotation.
_ANNOTATION_CHARS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})


@dataclass(frozen=True)
class Example:
    """One utterance with at most one entity span."""

    text: str
    intent: str
    entity: str | None = None
    value: str | None = None
    start: int = 0
    end: int = 0
    tags: str = ""

    def annotated(self) -> str:
        """The utterance in Rasa's inline annotation syntax."""
        if self.entity is None:
            return self.text.translate(_ANNOTATION_CHARS)
        before = self.text[: self.start].translate(_ANNOTATION_CHARS)
        surface = self.text[self.start : self.end].translate(_ANNOTATION_CHARS)
        after = self.text[self.end :].translate(_ANNOTATION_CHARS)
        if self.value is None or self.value == surface:
            return f"{before}[{surface}]({self.entity}){after}"
        value = self.value.replace('"', '\\"')
        return f'{before}[{surface}]{{"entity": "{self.entity}", "value": "{value}"}}{after}'


def dataset_dir() -> Path:
    """Where the Bitext splits are: in $SUPPORTBOT_BITEXT_DIR or the datasets folder's copy."""
    return get_settings().bitext_dir / "intent_detection_splits"


def load_split(split: Split, directory: Path | None = None) -> list[Example]:
    """Read one split. Raises DatasetMissing with the path it looked at."""
    path = (directory or dataset_dir()) / f"{split}.csv"
    if not path.exists():
        raise DatasetMissing(
            f"Bitext {split} split not found at {path}; set SUPPORTBOT_BITEXT_DIR to the "
            "folder holding intent_detection_splits/"
        )
    examples = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            examples.append(_example(row))
    return examples


CURRENCY_SIGNS = "$€£"


def _example(row: dict[str, str]) -> Example:
    text, intent = row["utterance"].strip(), row["intent"]
    entity = row.get("entity_type") or None
    if entity is None or not row.get("start_offset"):
        return Example(text, intent, tags=row.get("tags", ""))
    start, end = int(row["start_offset"]), int(row["end_offset"])
    surface = row["utterance"][start:end]
    # Offsets index the unstripped utterance.
    shift = len(row["utterance"]) - len(row["utterance"].lstrip())
    start, end = start - shift, end - shift
    value = row.get("entity_value") or surface
    if entity in ("order_id", "invoice_id"):
        value = surface.lstrip("#")
    if start > 0 and text[start - 1] in CURRENCY_SIGNS:
        # "$350" is one token: an annotation of "350" alone cannot align with it, so Rasa
        # warns and DIET ignores it. Annotate the whole token; the value stays the number.
        start -= 1
        surface = text[start:end]
        value = row.get("entity_value") or surface[1:]
    glued = (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())
    if not surface.strip() or text[start:end] != surface or glued:
        # A span glued to a word ("aPro account") cannot align with tokens: keep the text only.
        return Example(text, intent, tags=row.get("tags", ""))
    return Example(text, intent, entity, value, start, end, row.get("tags", ""))


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def stratified_subset(examples: Iterable[Example], per_intent: int, seed: int) -> list[Example]:
    """`per_intent` examples of each intent: entity-bearing ones first, spread over tags."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    rng = random.Random(seed)
    chosen: list[Example] = []
    for intent in sorted(by_intent):
        pool = sorted(by_intent[intent], key=lambda e: e.text)
        rng.shuffle(pool)
        with_entity = [e for e in pool if e.entity]
        without = [e for e in pool if not e.entity]
        # Up to a third with entities, so every entity type keeps examples.
        take = with_entity[: per_intent // 3]
        seen_tags = {e.tags for e in take}
        rest = [e for e in pool if e not in take]
        fresh = [e for e in rest if e.tags not in seen_tags]
        for example in [*fresh, *without, *rest]:
            if len(take) >= per_intent:
                break
            if example not in take:
                take.append(example)
                seen_tags.add(example.tags)
        chosen.extend(sorted(take, key=lambda e: e.text))
    return chosen


def to_yaml(examples: Iterable[Example], header: str) -> str:
    """Rasa 3.x NLU YAML, intents in first-seen order."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.annotated())
    lines = [f"# {line}".rstrip() for line in header.strip().splitlines()]
    lines += ['version: "3.1"', "", "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {text}" for text in texts]
    return "\n".join(lines) + "\n"


_HEADER = """Generated from the Bitext Customer Service Tagged Training Dataset for
Intent Detection, train split only (c) Bitext Innovations, CDLA-Sharing-1.0. See NOTICE.
Do not edit: regenerate with
  python -m lab.datasets.bitext train-subset --per-intent {per_intent} --seed {seed} --out {out}"""


def export_training_subset(per_intent: int, seed: int, out: str) -> dict[str, str]:
    """One YAML document per topic with a stratified sample of the train split."""
    # Bitext's train split repeats some dev/test utterances up to letter case: leave those out.
    held_out = {_normalised(e.text) for split in ("dev", "test") for e in load_split(split)}
    train = [e for e in load_split("train") if _normalised(e.text) not in held_out]
    subset = stratified_subset(train, per_intent, seed)
    header = _HEADER.format(per_intent=per_intent, seed=seed, out=out)
    files = {}
    for topic, intents in TOPICS.items():
        files[topic] = to_yaml((e for e in subset if e.intent in intents), header)
    return files


def export_split(split: Split) -> str:
    """A whole split as NLU YAML, for `rasa test nlu`."""
    header = (
        f"Bitext {split} split (c) Bitext Innovations, CDLA-Sharing-1.0 (see NOTICE): for\n"
        "evaluation only, never trained on. Do not edit: regenerate with\n"
        f"  python -m lab.datasets.bitext split {split} --out FILE"
    )
    return to_yaml(load_split(split), header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.datasets.bitext", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    subset = commands.add_parser("train-subset", help="write data/nlu/bitext/<topic>.yml")
    subset.add_argument("--per-intent", type=int, default=100)
    subset.add_argument("--seed", type=int, default=13)
    subset.add_argument("--out", default="data/nlu/bitext")
    split = commands.add_parser("split", help="write a dev or test split for evaluation")
    split.add_argument("name", choices=["dev", "test"])
    split.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "train-subset":
            if args.per_intent < 1:
                parser.error("--per-intent must be at least 1")
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            for topic, text in export_training_subset(args.per_intent, args.seed, args.out).items():
                (out / f"{topic}.yml").write_text(text, encoding="utf-8")
                print(f"wrote {out / topic}.yml ({text.count(chr(10) + '      - ')} examples)")
        else:
            path = Path(args.out)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = export_split(args.name)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({text.count(chr(10) + '      - ')} examples)")
    except DatasetMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
