"""The one settings object: every knob of supportbot, read from the environment once.

Secrets have no defaults. A component that needs one calls `Settings.require(...)`, which fails
with a message naming the variable. For local use, `supportbot run` generates random secrets once
into `<data dir>/local-secrets.env` (mode 600); variables set in the environment always win.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

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


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 300:
        raise SettingsError(f"{name} must be more than 0 and at most 300 seconds, got {raw!r}")
    return value


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value and len(value) < 32:
        raise SettingsError(f"{name} must be at least 32 characters long")
    return value or None


# --- web app guards (issue 15): rate limits, body caps, which proxies to believe ---------------


@dataclass(frozen=True)
class WebGuards:
    """The web app's limits. Rates are `limits` strings ("10/minute;60/hour"), counted per
    client address and per conversation in this process, or in Redis when `rate_limit_storage`
    names one (several web workers must share the counts)."""

    rate_limit_storage: str = field(default="", repr=False)  # a URL may carry a password
    chat_send_per_client: str = "60/minute"
    chat_send_per_conversation: str = "20/minute"
    # Reads: the widget's history, its session and its polling while a person has the chat.
    chat_read_per_client: str = "600/minute"
    chat_read_per_conversation: str = "120/minute"
    login_per_client: str = "10/minute;60/hour"
    # Request bodies, refused (413) before they are read: the chat API's and everything else's.
    max_chat_body_bytes: int = 16 * 1024
    max_body_bytes: int = 64 * 1024
    # Proxies whose X-Forwarded-For/-Proto are believed (addresses or networks); none by default.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebGuards:
        storage = env.get("SUPPORTBOT_RATE_LIMIT_STORAGE", "").strip()
        if storage and urlsplit(storage).scheme not in {"redis", "rediss"}:
            raise SettingsError(
                "SUPPORTBOT_RATE_LIMIT_STORAGE must be a redis:// or rediss:// URL "
                "(or unset: counts in this process)"
            )
        defaults = cls()
        return cls(
            rate_limit_storage=storage,
            **{
                name: _rates(env, f"SUPPORTBOT_RATE_LIMIT_{name.upper()}", getattr(defaults, name))
                for name in (
                    "chat_send_per_client",
                    "chat_send_per_conversation",
                    "chat_read_per_client",
                    "chat_read_per_conversation",
                    "login_per_client",
                )
            },
            max_chat_body_bytes=_int(
                env, "SUPPORTBOT_MAX_CHAT_BODY_BYTES", defaults.max_chat_body_bytes, minimum=1024
            ),
            max_body_bytes=_int(
                env, "SUPPORTBOT_MAX_BODY_BYTES", defaults.max_body_bytes, minimum=1024
            ),
            trusted_proxies=_networks(env, TRUSTED_PROXIES_VARIABLE),
        )


def _rates(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse_many

    raw = env.get(name, "").strip() or default
    try:
        valid = all(rate.amount >= 1 for rate in parse_many(raw))
    except ValueError:
        valid = False
    if not valid:
        raise SettingsError(f"{name} must be rates like '10/minute;60/hour', got {raw!r}")
    return raw


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
    try:
        return tuple(str(ipaddress.ip_network(part, strict=False)) for part in raw)
    except ValueError:
        raise SettingsError(
            f"{name} must be IP addresses or networks, comma-separated, got {env[name]!r}"
        ) from None


# --- privacy (issue 16): what is masked where, how long conversations are kept ------------------

# The kinds of personal data supportbot.privacy.pii finds (Presidio's entity names, and ours).
PII_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "PERSON",
    "STREET_ADDRESS",
)


@dataclass(frozen=True)
class PrivacyRules:
    """Masked before storage: in transcripts (the tracker store) and the CRM's free text, in
    exports and the review file. Logs are masked always, whatever this says. Names and addresses
    stay by default: agents need them, and a form may use an address a turn later."""

    stored_entities: tuple[str, ...] = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")
    # How often `supportbot run` runs the retention job (and once at start); 0: never.
    retention_interval_hours: int = 24
    # Conversations older than this are erased by the retention job (agent-flagged ones kept).
    retention_days: int = 180
    # Every erasure, one JSON line each (supportbot.privacy.erasure): outside the databases, so
    # that a restored older backup can be erased again.
    erasure_log: Path = PROJECT_ROOT / "var" / "privacy" / "erasure-log.jsonl"

    @classmethod
    def from_env(cls, env: Mapping[str, str], data_dir: Path | None = None) -> PrivacyRules:
        defaults = cls()
        data_dir = data_dir or PROJECT_ROOT / "var"
        raw = env.get("SUPPORTBOT_REDACT_ENTITIES")
        entities = defaults.stored_entities
        if raw is not None:
            entities = tuple(part.strip().upper() for part in raw.split(",") if part.strip())
            unknown = sorted(set(entities) - set(PII_ENTITIES))
            if unknown:
                raise SettingsError(
                    f"SUPPORTBOT_REDACT_ENTITIES names unknown types {', '.join(unknown)}; "
                    f"known: {', '.join(PII_ENTITIES)}"
                )
        return cls(
            retention_interval_hours=_int(env, "SUPPORTBOT_RETENTION_INTERVAL", 24, minimum=0),
            stored_entities=entities,
            retention_days=_int(env, "SUPPORTBOT_RETENTION_DAYS", 180, minimum=1),
            erasure_log=Path(
                env.get("SUPPORTBOT_ERASURE_LOG", "").strip()
                or data_dir / "privacy" / "erasure-log.jsonl"
            ),
        )


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
    # Key that signs the widget's session cookie and socket.io session token (the Rasa channel
    # verifies the token with it too).
    session_secret: str | None = field(default=None, repr=False)
    # Where browsers open Rasa's socket.io channel (an origin); None: Rasa's port on 127.0.0.1.
    socket_url: str | None = None
    # How long an agent console login lasts (absolute, from sign-in).
    agent_session_hours: int = 8
    log_level: str = "INFO"
    # Serve the demo host pages that sign in as the seeded demo customers (never in production).
    demo_pages: bool = False
    # The trained Rasa model, and the Python 3.10 interpreter that has Rasa (its environment).
    model_path: Path = PROJECT_ROOT / "models" / "supportbot.tar.gz"
    rasa_python: Path = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
    # How long `supportbot run` waits for all processes to answer.
    startup_timeout_seconds: int = 300
    # The MiniLM encoder exported to ONNX at setup (sentiment, retrieval and the NLU pipeline).
    encoder_dir: Path = PROJECT_ROOT / "var" / "encoder"
    # The built-in sentiment head, trained at setup (`make setup`), like the encoder a build
    # artefact of the checkout and not data: it does not move with SUPPORTBOT_DATA_DIR.
    sentiment_dir: Path = PROJECT_ROOT / "var" / "sentiment"
    # A Hugging Face model id or local directory to use instead of the built-in sentiment head.
    sentiment_model: str | None = None
    # The learned escalation decision, trained at setup like the sentiment head.
    escalation_dir: Path = PROJECT_ROOT / "var" / "escalation"
    # Where the console collects the customer messages agents mark as training data.
    review_file: Path = PROJECT_ROOT / "var" / "review" / "nlu_review.yml"
    # The public datasets the lab trains and evaluates on (the assistant runs without them).
    datasets_dir: Path = PROJECT_ROOT.parent / "shared" / "datasets"
    # The Bitext customer-support dataset, by default the datasets folder's copy.
    bitext_dir: Path = PROJECT_ROOT.parent / "shared" / "datasets" / "bitext_customer_support"
    # Sanic workers of the Rasa server and of the action server (each one's SANIC_WORKERS).
    rasa_workers: int = 1
    action_workers: int = 1
    # What endpoints.yml and credentials.yml read: action server, tracker store, lock store and
    # the socket.io channel.
    rasa_environment: dict[str, str] = field(default_factory=dict, repr=False)
    # The web app's rate limits, body caps and trusted proxies (issue 15).
    web_guards: WebGuards = field(default_factory=WebGuards)
    # Identity: verification lockout, how long a verified binding lasts, how long a widget
    # conversation lives (from its start, checked in its signed cookie).
    verification_max_failures: int = 5
    verification_delay_seconds: int = 2
    verification_lock_seconds: int = 900
    binding_ttl_seconds: int = 3600
    conversation_max_age_seconds: int = 12 * 3600
    # Faults: where the action server listens, and the secret Rasa must show it on every call.
    action_server_host: str = "127.0.0.1"
    action_server_secret: str | None = field(default=None, repr=False)
    # Agents (issue 15): the key of the audit trail's keyed hashes (client addresses, unknown
    # login emails), and the per-account login lockout: this many wrong passwords within the
    # window lock the account for `login_lockout_seconds`.
    audit_secret: str | None = field(default=None, repr=False)
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_lockout_seconds: int = 900
    # Privacy (issue 16).
    privacy: PrivacyRules = field(default_factory=PrivacyRules)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SUPPORTBOT_DATA_DIR", "") or PROJECT_ROOT / "var")
        env = {**read_local_secrets(data_dir), **env}
        database_url = env.get("SUPPORTBOT_DATABASE_URL", "").strip() or (
            f"sqlite:///{data_dir / 'crm.db'}"
        )
        action_port = _int(env, "SUPPORTBOT_ACTION_PORT", 5055, minimum=1)
        web_host = env.get("SUPPORTBOT_WEB_HOST", "").strip() or "127.0.0.1"
        web_port = _int(env, "SUPPORTBOT_WEB_PORT", 8000, minimum=1)
        web_origin = f"http://{web_host}:{web_port}"
        if web_host in LOOPBACK_NAMES:
            # A browser on this machine may call the web app by either name.
            web_origin = ",".join(f"http://{name}:{web_port}" for name in LOOPBACK_NAMES)
        datasets_dir = Path(
            env.get("SUPPORTBOT_DATASETS_DIR", "").strip()
            or PROJECT_ROOT.parent / "shared" / "datasets"
        )
        rasa_environment = _rasa_environment(env, data_dir, action_port, web_origin)
        rasa_workers = _int(env, "SUPPORTBOT_RASA_WORKERS", 1, minimum=1)
        if rasa_workers > 1:
            _check_shared_by_rasa_workers(rasa_environment)
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
            action_server_port=action_port,
            web_host=web_host,
            web_port=web_port,
            identity_secret=_secret(env, "SUPPORTBOT_IDENTITY_SECRET"),
            identity_token_ttl_seconds=_int(env, "SUPPORTBOT_IDENTITY_TOKEN_TTL", 3600, minimum=60),
            rasa_api_token=_secret(env, "SUPPORTBOT_RASA_TOKEN"),
            session_secret=_secret(env, "SUPPORTBOT_SESSION_SECRET"),
            socket_url=_origin(env, "SUPPORTBOT_SOCKET_URL"),
            agent_session_hours=_int(env, "SUPPORTBOT_AGENT_SESSION_HOURS", 8, minimum=1),
            log_level=log_level,
            demo_pages=env.get("SUPPORTBOT_DEMO_PAGES", "").strip().lower() in {"1", "true", "yes"},
            model_path=Path(
                env.get("SUPPORTBOT_MODEL", "") or PROJECT_ROOT / "models" / "supportbot.tar.gz"
            ),
            rasa_python=Path(
                env.get("SUPPORTBOT_RASA_PYTHON", "")
                or PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
            ),
            startup_timeout_seconds=_int(env, "SUPPORTBOT_STARTUP_TIMEOUT", 300, minimum=1),
            encoder_dir=Path(
                env.get("SUPPORTBOT_ENCODER_DIR", "") or PROJECT_ROOT / "var" / "encoder"
            ),
            sentiment_dir=Path(
                env.get("SUPPORTBOT_SENTIMENT_DIR", "") or PROJECT_ROOT / "var" / "sentiment"
            ),
            sentiment_model=env.get("SENTIMENT_MODEL", "").strip() or None,
            escalation_dir=Path(
                env.get("SUPPORTBOT_ESCALATION_DIR", "") or PROJECT_ROOT / "var" / "escalation"
            ),
            review_file=Path(
                env.get("SUPPORTBOT_REVIEW_FILE", "") or data_dir / "review" / "nlu_review.yml"
            ),
            datasets_dir=datasets_dir,
            bitext_dir=Path(
                env.get("SUPPORTBOT_BITEXT_DIR", "").strip()
                or datasets_dir / "bitext_customer_support"
            ),
            rasa_workers=rasa_workers,
            action_workers=_int(env, "SUPPORTBOT_ACTION_WORKERS", 1, minimum=1),
            rasa_environment=rasa_environment,
            web_guards=WebGuards.from_env(env),
            # Identity
            verification_max_failures=_int(
                env, "SUPPORTBOT_VERIFICATION_MAX_FAILURES", 5, minimum=1
            ),
            verification_delay_seconds=_int(env, "SUPPORTBOT_VERIFICATION_DELAY", 2, minimum=1),
            verification_lock_seconds=_int(env, "SUPPORTBOT_VERIFICATION_LOCK", 900, minimum=60),
            binding_ttl_seconds=_int(env, "SUPPORTBOT_BINDING_TTL", 3600, minimum=60),
            conversation_max_age_seconds=_int(
                env, CONVERSATION_MAX_AGE_VARIABLE, 12 * 3600, minimum=300
            ),
            # Faults
            action_server_host=env.get("SUPPORTBOT_ACTION_HOST", "").strip() or "127.0.0.1",
            action_server_secret=_secret(env, "SUPPORTBOT_ACTION_SECRET"),
            # Agents (issue 15).
            audit_secret=_secret(env, "SUPPORTBOT_AUDIT_SECRET"),
            login_max_failures=_int(env, "SUPPORTBOT_LOGIN_MAX_FAILURES", 5, minimum=1),
            login_failure_window_seconds=_int(
                env, "SUPPORTBOT_LOGIN_FAILURE_WINDOW", 900, minimum=1
            ),
            login_lockout_seconds=_int(env, "SUPPORTBOT_LOGIN_LOCKOUT", 900, minimum=1),
            privacy=PrivacyRules.from_env(env, data_dir),
        )

    @property
    def chat_socket_url(self) -> str:
        """The socket.io origin the widget connects to."""
        if self.socket_url:
            return self.socket_url
        # The default setup runs everything on this machine, so the browser finds Rasa there too.
        return f"http://127.0.0.1:{urlsplit(self.rasa_url).port or 5005}"

    @property
    def tracker_store_url(self) -> str | None:
        """The database endpoints.yml's tracker store opens, as a SQLAlchemy URL (None for a
        dialect other than SQLite and PostgreSQL). Erasure, retention and backups open it too."""
        from sqlalchemy import URL

        values = self.rasa_environment
        dialect = values.get("TRACKER_DIALECT", "")
        if dialect == "sqlite":
            return f"sqlite:///{values['TRACKER_DB']}"
        if dialect != "postgresql":
            return None
        host, _, port = values.get("TRACKER_HOST", "").partition(":")
        return URL.create(
            "postgresql+psycopg2",
            username=values.get("TRACKER_USER") or None,
            password=values.get("TRACKER_PASSWORD") or None,
            host=host or None,
            port=int(port) if port else None,
            database=values.get("TRACKER_DB") or None,
        ).render_as_string(hide_password=False)

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
    "audit_secret": "SUPPORTBOT_AUDIT_SECRET",
    "session_secret": "SUPPORTBOT_SESSION_SECRET",
    # Faults: Rasa shows it to the action server (endpoints.yml), which refuses calls without it.
    "action_server_secret": "SUPPORTBOT_ACTION_SECRET",
}


LOCAL_SECRETS_FILE = "local-secrets.env"
# Faults: how long Rasa waits for one action server call (assistant/environment.py reads it).
ACTION_TIMEOUT_VARIABLE = "SUPPORTBOT_ACTION_TIMEOUT"
# Read by the web app and, through `rasa_environment`, by the socket.io channel.
CONVERSATION_MAX_AGE_VARIABLE = "SUPPORTBOT_CONVERSATION_MAX_AGE"
TRUSTED_PROXIES_VARIABLE = "SUPPORTBOT_TRUSTED_PROXIES"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(?P<port>[1-9][0-9]{0,4}))?")


def _origin(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) origin such as https://chat.example.com:5005, or None when unset."""
    raw = env.get(name, "").strip().rstrip("/")
    if not raw:
        return None
    # Strict, because the value also goes into the Content-Security-Policy header.
    origin = _ORIGIN.fullmatch(raw)
    if not origin or int(origin.group("port") or 0) > 65535:
        raise SettingsError(f"{name} must be an http(s) origin like https://host:5005, got {raw!r}")
    return raw


def _rasa_environment(
    env: Mapping[str, str], data_dir: Path, action_port: int, web_origin: str
) -> dict[str, str]:
    """What endpoints.yml and credentials.yml read: embedded defaults, each overridable."""
    defaults = {
        "SOCKETIO_ALLOWED_ORIGINS": web_origin,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "TRACKER_DIALECT": "sqlite",
        "TRACKER_DB": str(data_dir / "tracker.db"),
        "TRACKER_HOST": "",
        "TRACKER_USER": "",
        "TRACKER_PASSWORD": "",
        "LOCK_STORE_TYPE": "in_memory",
        "LOCK_STORE_HOST": "127.0.0.1",
        "LOCK_STORE_PORT": "6379",
        "SOCKETIO_REDIS_URL": "",
    }
    values = {name: env.get(name, default) for name, default in defaults.items()}
    # The socket.io channel checks the web app's signed session tokens with the same key.
    session_secret = _secret(env, "SUPPORTBOT_SESSION_SECRET")
    if session_secret:
        values["SUPPORTBOT_SESSION_SECRET"] = session_secret
    # Faults: endpoints.yml sends it to the action server; each action call's time limit.
    action_secret = _secret(env, "SUPPORTBOT_ACTION_SECRET")
    if action_secret:
        values["SUPPORTBOT_ACTION_SECRET"] = action_secret
    values[ACTION_TIMEOUT_VARIABLE] = str(_seconds(env, ACTION_TIMEOUT_VARIABLE, 3.0))
    # The socket.io channel: how long its session tokens live (as the web app's conversations),
    # and whose X-Forwarded-For it believes when it names a client for the verification guard.
    values[CONVERSATION_MAX_AGE_VARIABLE] = str(
        _int(env, CONVERSATION_MAX_AGE_VARIABLE, 12 * 3600, minimum=300)
    )
    values[TRUSTED_PROXIES_VARIABLE] = ",".join(_networks(env, TRUSTED_PROXIES_VARIABLE))
    # The tracker store masks these types before it writes a turn, and sends the action server
    # only the strings that could hold one (assistant/transcript_redaction.py).
    values["SUPPORTBOT_REDACT_ENTITIES"] = ",".join(PrivacyRules.from_env(env).stored_entities)
    if values["LOCK_STORE_TYPE"] not in {"in_memory", "redis"}:
        raise SettingsError(
            f"LOCK_STORE_TYPE must be in_memory or redis, got {values['LOCK_STORE_TYPE']!r}"
        )
    if not values["LOCK_STORE_PORT"].isdigit():
        raise SettingsError(
            f"LOCK_STORE_PORT must be a port number, got {values['LOCK_STORE_PORT']!r}"
        )
    return values


def scaled_environment(tracker_url: str, redis_url: str, workers: int) -> dict[str, str]:
    """The variables that run the stack scaled out (README, "Beyond one machine"): `workers`
    Rasa and action-server workers, the Redis lock store and socket.io queue at `redis_url`, and
    the tracker store in the PostgreSQL database that `tracker_url` names."""
    tracker, redis = urlsplit(tracker_url), urlsplit(redis_url)
    return {
        "SUPPORTBOT_RASA_WORKERS": str(workers),
        "SUPPORTBOT_ACTION_WORKERS": str(workers),
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_HOST": redis.hostname or "127.0.0.1",
        "LOCK_STORE_PORT": str(redis.port or 6379),
        "SOCKETIO_REDIS_URL": redis_url,
        "TRACKER_DIALECT": "postgresql",
        "TRACKER_HOST": f"{tracker.hostname or '127.0.0.1'}:{tracker.port or 5432}",
        "TRACKER_DB": tracker.path.lstrip("/"),
        "TRACKER_USER": tracker.username or "",
        "TRACKER_PASSWORD": tracker.password or "",
    }


def _check_shared_by_rasa_workers(rasa_environment: Mapping[str, str]) -> None:
    """Several Rasa workers need what they share to live outside each of them."""
    if rasa_environment["LOCK_STORE_TYPE"] != "redis":
        # Rasa itself would quietly run one worker; with in-memory locks two workers could
        # handle one customer's messages at once, interleaving their events.
        raise SettingsError(
            "SUPPORTBOT_RASA_WORKERS > 1 needs LOCK_STORE_TYPE=redis (with LOCK_STORE_HOST and "
            "LOCK_STORE_PORT): the in-memory lock store cannot keep a customer's messages in "
            "order across workers"
        )
    if not rasa_environment["SOCKETIO_REDIS_URL"]:
        raise SettingsError(
            "SUPPORTBOT_RASA_WORKERS > 1 needs SOCKETIO_REDIS_URL (e.g. redis://127.0.0.1:6379/0): "
            "agent messages must reach the worker that holds the customer's socket"
        )


def read_local_secrets(data_dir: Path) -> dict[str, str]:
    """The secrets `supportbot run` generated for this checkout, if any."""
    path = data_dir / LOCAL_SECRETS_FILE
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in SECRET_VARIABLES.values():
            values[name.strip()] = value.strip()
    return values


def ensure_local_secrets(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """Create random values for the secrets neither the environment nor the file has yet."""
    env = os.environ if env is None else env
    path = data_dir / LOCAL_SECRETS_FILE
    existing = read_local_secrets(data_dir)
    missing = [
        name for name in SECRET_VARIABLES.values() if not env.get(name) and name not in existing
    ]
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        existing.update({name: secrets.token_urlsafe(32) for name in missing})
        # Written with owner-only permissions from the start: these sign tokens and cookies.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Generated by `supportbot run` for local use. Do not commit.\n")
            handle.writelines(f"{name}={value}\n" for name, value in existing.items())
    return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
