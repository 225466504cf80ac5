"""Public datasets the project trains or evaluates on."""

from __future__ import annotations

from pathlib import Path

from supportbot.settings import get_settings


class DatasetMissing(FileNotFoundError):
    """A dataset file is not where the settings say."""


def datasets_dir() -> Path:
    """$SUPPORTBOT_DATASETS_DIR, or ../shared/datasets next to the checkout."""
    return get_settings().datasets_dir
