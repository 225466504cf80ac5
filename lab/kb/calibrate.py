"""Calibrate the retrieval answer threshold on data/kb/eval/dev.yml; writes data/kb/threshold.json.

    python -m lab.kb.calibrate

The threshold answers as many dev questions as possible while at least 95% of the answered ones
get the right article (an unrelated question answered counts as wrong). The bot reads the stored
value, so rerun this only after changing articles, the encoder or the scoring.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lab.kb.evaluation import (
    DEV_SET,
    MIN_PRECISION,
    calibrate,
    evaluate,
    load_eval_set,
    rank_all,
    seeded_database,
)
from supportbot.kb.retrieval import (
    DEFAULT_SCORING,
    THRESHOLD_FILE,
    Encoder,
    KnowledgeBase,
    Scoring,
)
from supportbot.settings import PROJECT_ROOT


def load_kb_from_files(encoder: Encoder, scoring: Scoring = DEFAULT_SCORING) -> KnowledgeBase:
    """The knowledge base of data/kb, built through a temporary SQLite CRM (no disk cache)."""
    from supportbot.crm.db import session_scope

    with seeded_database() as url, session_scope(url) as session:
        return KnowledgeBase.from_session(session, encoder, threshold=0.0, scoring=scoring)


def calibration_record(
    kb: KnowledgeBase, dev_set: Path = DEV_SET, min_precision: float = MIN_PRECISION
) -> dict[str, Any]:
    """The threshold and the dev numbers behind it, as stored in threshold.json."""
    questions = load_eval_set(dev_set)
    rankings = rank_all(lambda q: [(h.slug, h.score) for h in kb.search(q, k=3)], questions)
    fitted = calibrate(questions, rankings, min_precision)
    metrics = evaluate(questions, rankings, fitted.threshold)
    description = getattr(kb.encoder, "description", {}) or {}
    return {
        "threshold": round(fitted.threshold, 6),
        "min_precision": min_precision,
        "scoring": kb.scoring.as_dict(),
        "encoder": description.get("source", type(kb.encoder).__name__),
        "articles": kb.size,
        "calibrated_on": str(dev_set.relative_to(PROJECT_ROOT)),
        "dev": {
            "questions": len(questions),
            "in_scope": metrics.in_scope,
            "unrelated": metrics.unrelated,
            "answered": fitted.answered,
            "coverage": round(fitted.coverage, 4),
            "precision": round(fitted.precision, 4),
            "top1": round(metrics.top1, 4),
            "top3": round(metrics.top3, 4),
            "unrelated_rejected": round(metrics.unrelated_rejected, 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.kb.calibrate", description=__doc__)
    parser.add_argument("--out", type=Path, default=THRESHOLD_FILE)
    parser.add_argument("--min-precision", type=float, default=MIN_PRECISION)
    args = parser.parse_args(argv)
    from supportbot.encoder import get_sentence_encoder

    kb = load_kb_from_files(get_sentence_encoder())
    record = calibration_record(kb, min_precision=args.min_precision)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    dev = record["dev"]
    print(
        f"threshold {record['threshold']:.4f}: answers {dev['answered']}/{dev['questions']} dev "
        f"questions (coverage {dev['coverage']:.1%}) with precision {dev['precision']:.1%}; "
        f"top-1 {dev['top1']:.1%}. Wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
