"""The one settings object: every knob of supportbot, read from the environment once.

Secrets have no defaults. A component that needs one calls `Settings.require(...)`, which fails
with a message naming the variable; `supportbot run` generates throwaway secrets for local use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value and len(value) < 32:
        raise SettingsError(f"{name} must be at least 32 characters long")
    return value or None


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build it with `Settings.from_env()` or `get_settings()`."""

    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_port: int = 5055
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # HMAC key for the signed customer tokens a host page hands the widget.
    identity_secret: str | None = field(default=None, repr=False)
    identity_token_ttl_seconds: int = 3600
    # Token for Rasa's HTTP API (agent replies, reading transcripts).
    rasa_api_token: str | None = field(default=None, repr=False)
    # Bearer token for the temporary agent endpoints of the web app.
    agent_api_token: str | None = field(default=None, repr=False)
    # Key that signs the widget's session cookie.
    session_secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    # Serve the demo host pages that sign in as the seeded demo customers (never in production).
    demo_pages: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SUPPORTBOT_DATA_DIR", "") or PROJECT_ROOT / "var")
        database_url = env.get("SUPPORTBOT_DATABASE_URL", "").strip() or (
            f"sqlite:///{data_dir / 'crm.db'}"
        )
        log_level = env.get("SUPPORTBOT_LOG_LEVEL", "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(
                f"SUPPORTBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}"
            )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            rasa_url=env.get("SUPPORTBOT_RASA_URL", "").strip().rstrip("/")
            or "http://127.0.0.1:5005",
            action_server_port=_int(env, "SUPPORTBOT_ACTION_PORT", 5055, minimum=1),
            web_host=env.get("SUPPORTBOT_WEB_HOST", "").strip() or "127.0.0.1",
            web_port=_int(env, "SUPPORTBOT_WEB_PORT", 8000, minimum=1),
            identity_secret=_secret(env, "SUPPORTBOT_IDENTITY_SECRET"),
            identity_token_ttl_seconds=_int(env, "SUPPORTBOT_IDENTITY_TOKEN_TTL", 3600, minimum=60),
            rasa_api_token=_secret(env, "SUPPORTBOT_RASA_TOKEN"),
            agent_api_token=_secret(env, "SUPPORTBOT_AGENT_TOKEN"),
            session_secret=_secret(env, "SUPPORTBOT_SESSION_SECRET"),
            log_level=log_level,
            demo_pages=env.get("SUPPORTBOT_DEMO_PAGES", "").strip().lower() in {"1", "true", "yes"},
        )

    def require(self, name: str) -> str:
        """Return the secret attribute `name`, or fail naming its environment variable."""
        value = getattr(self, name)
        if not value:
            variable = SECRET_VARIABLES[name]
            raise SettingsError(
                f"{variable} is not set: export a random value of 32+ characters "
                "(`supportbot run` generates one for local use)"
            )
        return str(value)


SECRET_VARIABLES = {
    "identity_secret": "SUPPORTBOT_IDENTITY_SECRET",
    "rasa_api_token": "SUPPORTBOT_RASA_TOKEN",
    "agent_api_token": "SUPPORTBOT_AGENT_TOKEN",
    "session_secret": "SUPPORTBOT_SESSION_SECRET",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
