"""The settings object reads the environment once and refuses bad values clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.settings import Settings, SettingsError, scaled_environment


def test_defaults_are_embedded_sqlite_and_no_secrets(tmp_path: Path) -> None:
    settings = Settings.from_env({"SUPPORTBOT_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'crm.db'}"
    assert settings.identity_secret is None
    with pytest.raises(SettingsError, match="SUPPORTBOT_IDENTITY_SECRET"):
        settings.require("identity_secret")


def test_values_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SUPPORTBOT_DATABASE_URL": "postgresql+psycopg2://u@db/crm",
            "SUPPORTBOT_WEB_PORT": "8080",
            "SUPPORTBOT_IDENTITY_SECRET": "s" * 32,
            "SUPPORTBOT_DEMO_PAGES": "1",
        }
    )
    assert settings.database_url == "postgresql+psycopg2://u@db/crm"
    assert settings.web_port == 8080
    assert settings.require("identity_secret") == "s" * 32
    assert settings.demo_pages is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SUPPORTBOT_WEB_PORT", "eighty", "whole number"),
        ("SUPPORTBOT_WEB_PORT", "0", "at least 1"),
        ("SUPPORTBOT_IDENTITY_SECRET", "short", "32 characters"),
        ("SUPPORTBOT_LOG_LEVEL", "LOUD", "SUPPORTBOT_LOG_LEVEL"),
        ("SUPPORTBOT_RASA_WORKERS", "0", "at least 1"),
        ("SUPPORTBOT_ACTION_WORKERS", "two", "whole number"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({variable: value})


def test_the_lab_finds_its_datasets_where_the_environment_says(tmp_path: Path) -> None:
    default = Settings.from_env({"SUPPORTBOT_DATASETS_DIR": str(tmp_path)})
    assert default.datasets_dir == tmp_path
    assert default.bitext_dir == tmp_path / "bitext_customer_support"
    own = Settings.from_env({"SUPPORTBOT_BITEXT_DIR": str(tmp_path / "bitext")})
    assert own.bitext_dir == tmp_path / "bitext"


def test_secrets_are_not_in_repr() -> None:
    settings = Settings.from_env({"SUPPORTBOT_SESSION_SECRET": "x" * 40})
    assert "x" * 40 not in repr(settings)


def test_the_socket_url_is_an_origin_and_defaults_to_rasas_port_here() -> None:
    assert Settings.from_env({}).chat_socket_url == "http://127.0.0.1:5005"
    assert (
        Settings.from_env({"SUPPORTBOT_RASA_URL": "http://rasa:5105"}).chat_socket_url
        == "http://127.0.0.1:5105"
    )
    configured = Settings.from_env({"SUPPORTBOT_SOCKET_URL": "https://chat.example.com/"})
    assert configured.chat_socket_url == "https://chat.example.com"
    for bad in ("ws://x", "https://x/path", "https://x:99999", "https://x; script-src *"):
        with pytest.raises(SettingsError, match="SUPPORTBOT_SOCKET_URL"):
            Settings.from_env({"SUPPORTBOT_SOCKET_URL": bad})


def test_rasa_gets_the_session_secret_only_when_there_is_one(tmp_path: Path) -> None:
    secret = "k" * 40
    env = {"SUPPORTBOT_DATA_DIR": str(tmp_path)}
    assert "SUPPORTBOT_SESSION_SECRET" not in Settings.from_env(env).rasa_environment
    with_secret = Settings.from_env({**env, "SUPPORTBOT_SESSION_SECRET": secret})
    assert with_secret.rasa_environment["SUPPORTBOT_SESSION_SECRET"] == secret


def test_the_action_server_listens_on_loopback_and_rasa_gets_its_secret(tmp_path: Path) -> None:
    env = {"SUPPORTBOT_DATA_DIR": str(tmp_path)}
    default = Settings.from_env(env)
    assert default.action_server_host == "127.0.0.1"
    assert "SUPPORTBOT_ACTION_SECRET" not in default.rasa_environment
    assert default.rasa_environment["SUPPORTBOT_ACTION_TIMEOUT"] == "3.0"
    secret = "a" * 40
    configured = Settings.from_env(
        {
            **env,
            "SUPPORTBOT_ACTION_HOST": "0.0.0.0",
            "SUPPORTBOT_ACTION_SECRET": secret,
            "SUPPORTBOT_ACTION_TIMEOUT": "2.5",
        }
    )
    assert configured.action_server_host == "0.0.0.0"
    assert configured.require("action_server_secret") == secret
    assert configured.rasa_environment["SUPPORTBOT_ACTION_SECRET"] == secret
    assert configured.rasa_environment["SUPPORTBOT_ACTION_TIMEOUT"] == "2.5"
    assert secret not in repr(configured)
    with pytest.raises(SettingsError, match="SUPPORTBOT_ACTION_SECRET must be at least 32"):
        Settings.from_env({**env, "SUPPORTBOT_ACTION_SECRET": "short"})
    for bad in ("soon", "0", "-1", "301"):
        with pytest.raises(SettingsError, match="SUPPORTBOT_ACTION_TIMEOUT"):
            Settings.from_env({**env, "SUPPORTBOT_ACTION_TIMEOUT": bad})


def test_the_socket_channel_allows_the_web_apps_origin_under_both_loopback_names() -> None:
    here = Settings.from_env({"SUPPORTBOT_WEB_PORT": "8100"}).rasa_environment
    assert here["SOCKETIO_ALLOWED_ORIGINS"] == "http://127.0.0.1:8100,http://localhost:8100"

    public = Settings.from_env({"SUPPORTBOT_WEB_HOST": "shop.example.com"}).rasa_environment
    assert public["SOCKETIO_ALLOWED_ORIGINS"] == "http://shop.example.com:8000"


def test_one_worker_each_unless_configured() -> None:
    default = Settings.from_env({})
    assert (default.rasa_workers, default.action_workers) == (1, 1)
    assert default.rasa_environment["SOCKETIO_REDIS_URL"] == ""
    assert Settings.from_env({"SUPPORTBOT_ACTION_WORKERS": "3"}).action_workers == 3


SCALED = {
    "SUPPORTBOT_RASA_WORKERS": "2",
    "LOCK_STORE_TYPE": "redis",
    "SOCKETIO_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_several_rasa_workers_share_redis_for_locks_and_sockets() -> None:
    scaled = Settings.from_env(SCALED)
    assert scaled.rasa_workers == 2
    assert scaled.rasa_environment["SOCKETIO_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    with pytest.raises(SettingsError, match="needs LOCK_STORE_TYPE=redis"):
        Settings.from_env({**SCALED, "LOCK_STORE_TYPE": "in_memory"})
    with pytest.raises(SettingsError, match="needs SOCKETIO_REDIS_URL"):
        Settings.from_env({**SCALED, "SOCKETIO_REDIS_URL": ""})


def test_the_scaled_environment_is_one_the_settings_accept():
    env = scaled_environment(
        "postgresql+psycopg2://bot:s3cret@db.internal:5433/tracker", "redis://cache:6380/0", 2
    )
    settings = Settings.from_env(env)

    assert (settings.rasa_workers, settings.action_workers) == (2, 2)
    rasa = settings.rasa_environment
    assert (rasa["LOCK_STORE_TYPE"], rasa["LOCK_STORE_HOST"], rasa["LOCK_STORE_PORT"]) == (
        "redis",
        "cache",
        "6380",
    )
    assert rasa["TRACKER_HOST"] == "db.internal:5433" and rasa["TRACKER_DB"] == "tracker"
    assert (rasa["TRACKER_USER"], rasa["TRACKER_PASSWORD"]) == ("bot", "s3cret")


def test_the_web_guards_come_from_the_environment() -> None:
    guards = Settings.from_env(
        {
            "SUPPORTBOT_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/4",
            "SUPPORTBOT_RATE_LIMIT_LOGIN_PER_CLIENT": "5/minute;20/hour",
            "SUPPORTBOT_MAX_CHAT_BODY_BYTES": "32768",
            "SUPPORTBOT_TRUSTED_PROXIES": "10.0.0.2, 192.168.0.0/16",
        }
    ).web_guards
    assert guards.rate_limit_storage == "redis://127.0.0.1:6379/4"
    assert guards.login_per_client == "5/minute;20/hour"
    assert guards.chat_send_per_conversation == "20/minute"  # the default
    assert guards.max_chat_body_bytes == 32768
    assert guards.trusted_proxies == ("10.0.0.2/32", "192.168.0.0/16")
    assert "6379" not in repr(guards)  # a Redis URL may carry a password


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUPPORTBOT_RATE_LIMIT_STORAGE", "memcached://127.0.0.1"),
        ("SUPPORTBOT_RATE_LIMIT_CHAT_SEND_PER_CLIENT", "lots"),
        ("SUPPORTBOT_RATE_LIMIT_CHAT_READ_PER_CONVERSATION", "0/minute"),
        ("SUPPORTBOT_MAX_BODY_BYTES", "10"),
        ("SUPPORTBOT_TRUSTED_PROXIES", "proxy.example"),
    ],
)
def test_bad_web_guards_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_identity_limits_have_safe_defaults_and_refuse_unsafe_values(tmp_path: Path) -> None:
    default = Settings.from_env({"SUPPORTBOT_DATA_DIR": str(tmp_path)})
    assert (default.verification_max_failures, default.verification_lock_seconds) == (5, 900)
    assert default.verification_delay_seconds == 2
    assert default.binding_ttl_seconds == 3600
    assert default.conversation_max_age_seconds == 12 * 3600
    configured = Settings.from_env(
        {"SUPPORTBOT_BINDING_TTL": "600", "SUPPORTBOT_VERIFICATION_MAX_FAILURES": "3"}
    )
    assert (configured.binding_ttl_seconds, configured.verification_max_failures) == (600, 3)
    for name, value in [
        ("SUPPORTBOT_VERIFICATION_MAX_FAILURES", "0"),
        ("SUPPORTBOT_VERIFICATION_LOCK", "10"),
        ("SUPPORTBOT_BINDING_TTL", "soon"),
        ("SUPPORTBOT_CONVERSATION_MAX_AGE", "60"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_rasa_is_told_which_types_its_tracker_store_masks(tmp_path: Path) -> None:
    default = Settings.from_env({"SUPPORTBOT_DATA_DIR": str(tmp_path)}).rasa_environment
    assert (
        default["SUPPORTBOT_REDACT_ENTITIES"] == "EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,IBAN_CODE"
    )
    configured = Settings.from_env(
        {"SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_REDACT_ENTITIES": "credit_card, person"}
    )
    assert configured.privacy.stored_entities == ("CREDIT_CARD", "PERSON")
    assert configured.rasa_environment["SUPPORTBOT_REDACT_ENTITIES"] == "CREDIT_CARD,PERSON"
    nothing = Settings.from_env(
        {"SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_REDACT_ENTITIES": ""}
    )
    assert nothing.rasa_environment["SUPPORTBOT_REDACT_ENTITIES"] == ""
