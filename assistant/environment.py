"""What the Rasa side reads from the environment, all in one place.

The Rasa server runs in its own interpreter (Python 3.10) without the application's
`supportbot.settings`; `supportbot run` hands it these variables (`Settings.rasa_environment`).
Each is read when a component is built, so a test can set it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from common import conversation_ids
from common.client_addresses import Network, trusted_networks

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


# Faults: how long one call to the action server may take (as `Settings`: 0 < seconds <= 300).
ACTION_TIMEOUT_VARIABLE = "SUPPORTBOT_ACTION_TIMEOUT"
DEFAULT_ACTION_TIMEOUT_S = 3.0


def action_timeout() -> float:
    """Seconds Rasa waits for one action server call: $SUPPORTBOT_ACTION_TIMEOUT, else 3."""
    raw = os.environ.get(ACTION_TIMEOUT_VARIABLE, "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_ACTION_TIMEOUT_S
    except ValueError:
        seconds = DEFAULT_ACTION_TIMEOUT_S
    return seconds if 0 < seconds <= 300 else DEFAULT_ACTION_TIMEOUT_S


CONVERSATION_MAX_AGE_VARIABLE = "SUPPORTBOT_CONVERSATION_MAX_AGE"
TRUSTED_PROXIES_VARIABLE = "SUPPORTBOT_TRUSTED_PROXIES"


def conversation_max_age() -> int:
    """Seconds a widget conversation (and its socket.io session token) lives; as the web app's."""
    raw = os.environ.get(CONVERSATION_MAX_AGE_VARIABLE, "").strip()
    return int(raw) if raw.isdigit() else conversation_ids.MAX_AGE_S


def trusted_proxies() -> tuple[Network, ...]:
    """The reverse proxies whose X-Forwarded-For names the client (none by default)."""
    return trusted_networks(os.environ.get(TRUSTED_PROXIES_VARIABLE, ""))
