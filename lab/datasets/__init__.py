"""Public datasets the project trains or evaluates on."""

from __future__ import annotations

import os
from pathlib import Path

from supportbot.settings import PROJECT_ROOT


class DatasetMissing(FileNotFoundError):
    """A dataset file is not where the settings say."""


def datasets_dir() -> Path:
    """$SUPPORTBOT_DATASETS_DIR, or ../shared/datasets next to the checkout."""
    configured = os.environ.get("SUPPORTBOT_DATASETS_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "datasets"
