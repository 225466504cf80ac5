"""What the Rasa side reads from the environment, all in one place.

The Rasa server runs in its own interpreter (Python 3.10) without the application's
`supportbot.settings`; `supportbot run` hands it these variables (`Settings.rasa_environment`).
Each is read when a component is built, so a test can set it first.
"""

from __future__ import annotations

import os
from pathlib import Path

SESSION_SECRET_VARIABLE = "SUPPORTBOT_SESSION_SECRET"
API_TOKEN_VARIABLE = "SUPPORTBOT_RASA_TOKEN"
ENCODER_DIR_VARIABLE = "SUPPORTBOT_ENCODER_DIR"
# As the application's default (`Settings.encoder_dir`): the checkout's var/encoder.
DEFAULT_ENCODER_DIR = Path(__file__).resolve().parents[1] / "var" / "encoder"


def session_secret() -> str:
    """The key the web app signs conversation ids with; '' when unset."""
    return os.environ.get(SESSION_SECRET_VARIABLE, "").strip()


def encoder_dir() -> Path:
    """The exported MiniLM encoder: $SUPPORTBOT_ENCODER_DIR or the checkout's var/encoder."""
    return Path(os.environ.get(ENCODER_DIR_VARIABLE) or DEFAULT_ENCODER_DIR)


def api_token() -> str:
    """The token Rasa's HTTP API requires; '' when unset."""
    return os.environ.get(API_TOKEN_VARIABLE, "").strip()
