"""The second held-out PII set, data/privacy/pii_holdout2.jsonl, from holdout2_source.txt.

Written by hand, blind (without seeing the development set, the first held-out set or the
detector's recognisers), while the detector was being improved after the first held-out set
had been scored, so that the frozen detector gets a clean score again. Same format and label
checks as the first (lab/privacy/holdout.py); split "holdout2".
`python -m lab.privacy.holdout2` rewrites the JSONL identically.
"""

from __future__ import annotations

from pathlib import Path

from lab.privacy.holdout import write
from supportbot.settings import PROJECT_ROOT

SOURCE = Path(__file__).with_name("holdout2_source.txt")
HOLDOUT = PROJECT_ROOT / "data" / "privacy" / "pii_holdout2.jsonl"
SPLIT = "holdout2"


def main() -> None:
    write(SOURCE, HOLDOUT, SPLIT)


if __name__ == "__main__":
    main()
