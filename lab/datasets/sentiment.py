"""Public sentiment datasets: TweetEval (SemEval-2017 4A) and the US airline tweets.

Only the 2,000 TweetEval validation tweets may be trained on (copied into
data/sentiment/tweeteval_val.tsv, see NOTICE). The TweetEval test split and the airline tweets
(CC BY-NC-SA 4.0: evaluation only, never shipped) are read by `supportbot-lab bench-sentiment`.

    python -m lab.datasets.sentiment export-tweeteval-val --out data/sentiment/tweeteval_val.tsv
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lab.datasets import DatasetMissing, datasets_dir

TWEETEVAL = "tweeteval_sentiment"
AIRLINE = "twitter_us_airline_sentiment"
# TweetEval's mapping.txt
TWEETEVAL_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with gold labels (negative / neutral / positive), in the file's order."""

    name: str
    texts: list[str]
    labels: list[str]

    def head(self, limit: int | None) -> LabelledTexts:
        if limit is None:
            return self
        return LabelledTexts(self.name, self.texts[:limit], self.labels[:limit])


@dataclass(frozen=True)
class PublishedResult:
    system: str
    macro_recall: float  # x100, as published
    reference: str


def _file(dataset: str, name: str, root: Path | None) -> Path:
    path = (root or datasets_dir()) / dataset / name
    if not path.is_file():
        raise DatasetMissing(
            f"{path} not found: set SUPPORTBOT_DATASETS_DIR to the folder holding {dataset}/"
        )
    return path


def _lines(path: Path) -> list[str]:
    # The files have Windows line ends and some trailing blanks; tweets never span lines.
    return [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]


def _tweeteval_labels(path: Path) -> list[str]:
    return [TWEETEVAL_LABELS[int(value)] for value in _lines(path) if value]


def load_tweeteval(split: Literal["val", "test"], root: Path | None = None) -> LabelledTexts:
    """A TweetEval sentiment split. `test` is for evaluation only."""
    texts = _lines(_file(TWEETEVAL, f"{split}_text.txt", root))
    labels = _tweeteval_labels(_file(TWEETEVAL, f"{split}_labels.txt", root))
    if len(texts) != len(labels):
        raise ValueError(f"TweetEval {split}: {len(texts)} texts but {len(labels)} labels")
    return LabelledTexts(f"TweetEval sentiment {split}", texts, labels)


def load_tweeteval_reference_predictions(root: Path | None = None) -> list[str]:
    """The TweetEval authors' RoB-RT predictions on the test split (checks our scorer)."""
    return _tweeteval_labels(
        _file(TWEETEVAL, "predictions_RoBERTa-Retrained_sentiment_test.txt", root)
    )


def load_tweeteval_published(root: Path | None = None) -> list[PublishedResult]:
    """The table of published test results in TweetEval's SOURCE.md."""
    text = _file(TWEETEVAL, "SOURCE.md", root).read_text(encoding="utf-8")
    section = text.split("## Published baselines", 1)[-1].split("\n## ", 1)[0]
    results = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"\d+(\.\d+)?", cells[1]):
            results.append(PublishedResult(cells[0], float(cells[1]), cells[2]))
    if not results:
        raise ValueError("no published results table found in TweetEval's SOURCE.md")
    return results


def load_airline(root: Path | None = None) -> LabelledTexts:
    """All airline tweets, one per tweet id (the 155 repeated ids are upstream duplicates).

    There is no official split and nothing here trains on it, so the whole file is the test set.
    """
    seen: set[str] = set()
    texts, labels = [], []
    with _file(AIRLINE, "Tweets.csv", root).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            if row["airline_sentiment"] not in TWEETEVAL_LABELS:
                raise ValueError(f"airline tweets: unknown label {row['airline_sentiment']!r}")
            texts.append(row["text"])
            labels.append(row["airline_sentiment"])
    return LabelledTexts("US airline tweets", texts, labels)


def export_tweeteval_val(out: Path, root: Path | None = None) -> int:
    """Write the validation tweets as `label<TAB>text` lines, the head's training format."""
    split = load_tweeteval("val", root)
    lines = []
    for label, text in zip(split.labels, split.texts, strict=True):
        if "\t" in text:
            raise ValueError("a tweet contains a tab")
        lines.append(f"{label}\t{text}\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.datasets.sentiment")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export-tweeteval-val", help="write the training copy")
    export.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        count = export_tweeteval_val(args.out)
    except DatasetMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {count} tweets to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
