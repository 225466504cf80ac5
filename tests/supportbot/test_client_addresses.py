"""How a request's client is named for the rate limits, the audit trail and the verification
guard (common/client_addresses.py, used by the web app and by Rasa's socket.io channel)."""

from __future__ import annotations

import pytest

from common.client_addresses import client_group, trusted_networks
from supportbot.settings import Settings

PROXY = trusted_networks("10.0.0.2, 192.168.0.0/16")


def test_an_ipv6_client_is_its_64_so_rotating_addresses_does_not_make_a_new_one() -> None:
    first = client_group("2001:db8:1:2::1")
    assert first == client_group("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert first != client_group("2001:db8:1:3::1")
    assert client_group("::ffff:203.0.113.7") == "203.0.113.7"


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    forged = "198.51.100.9"
    assert client_group("203.0.113.7", forged, PROXY) == "203.0.113.7"
    assert client_group("203.0.113.7", forged) == "203.0.113.7"
    assert client_group("10.0.0.2", forged, PROXY) == forged


def test_the_client_is_the_nearest_hop_no_trusted_proxy_added() -> None:
    # The client wrote the first entry itself; the two proxies appended what they saw.
    chain = "6.6.6.6, 198.51.100.9, 192.168.3.4"
    assert client_group("10.0.0.2", chain, PROXY) == "198.51.100.9"


def test_a_bad_proxy_list_is_refused() -> None:
    with pytest.raises(ValueError):
        trusted_networks("proxy.example")


def test_the_socket_channel_gets_the_same_max_age_and_proxies_as_the_web_app() -> None:
    rasa = Settings.from_env(
        {"SUPPORTBOT_CONVERSATION_MAX_AGE": "3600", "SUPPORTBOT_TRUSTED_PROXIES": "10.0.0.2"}
    ).rasa_environment
    assert rasa["SUPPORTBOT_CONVERSATION_MAX_AGE"] == "3600"
    assert rasa["SUPPORTBOT_TRUSTED_PROXIES"] == "10.0.0.2/32"
