"""Signed customer tokens."""

from __future__ import annotations

import pytest

from supportbot.identity import InvalidCustomerToken, issue_customer_token, verify_customer_token

SECRET = "identity-secret-for-tests-0123456789abcdef"
NOW = 1_800_000_000.0


def test_round_trip_names_the_customer() -> None:
    token = issue_customer_token(42, secret=SECRET, ttl_seconds=300, now=NOW)
    assert verify_customer_token(token, secret=SECRET, now=NOW + 299) == 42


def test_expired_token_is_refused() -> None:
    token = issue_customer_token(42, secret=SECRET, ttl_seconds=300, now=NOW)
    with pytest.raises(InvalidCustomerToken, match="expired"):
        verify_customer_token(token, secret=SECRET, now=NOW + 400)


def test_token_signed_with_another_secret_is_refused() -> None:
    token = issue_customer_token(
        42, secret="some-other-secret-0123456789abcdef", ttl_seconds=300, now=NOW
    )
    with pytest.raises(InvalidCustomerToken):
        verify_customer_token(token, secret=SECRET, now=NOW)


def test_unsigned_token_is_refused() -> None:
    import jwt

    unsigned = jwt.encode(
        {"sub": "42", "iss": "supportbot", "aud": "supportbot-widget", "iat": NOW, "exp": NOW + 60},
        key=None,
        algorithm="none",
    )
    with pytest.raises(InvalidCustomerToken):
        verify_customer_token(unsigned, secret=SECRET, now=NOW)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a" * 5000])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidCustomerToken):
        verify_customer_token(token, secret=SECRET, now=NOW)
