"""The signed conversation token (common/conversation_ids.py): what it accepts and refuses."""

from __future__ import annotations

from common import conversation_ids

SECRET = "conversation-secret-for-tests-0123456789"
NOW = 1_800_000_000
ADA = conversation_ids.customer_principal(1)


def signed(principal: str = "", issued_at: int = NOW) -> str:
    return conversation_ids.sign("0" * 32, SECRET, principal=principal, issued_at=issued_at)


def test_a_token_we_signed_names_its_conversation_until_its_max_age():
    token = signed()
    assert conversation_ids.verify(token, SECRET, now=NOW) == "0" * 32
    assert conversation_ids.verify(token, SECRET, max_age=3600, now=NOW + 3600) == "0" * 32
    assert conversation_ids.verify(token, SECRET, max_age=3600, now=NOW + 3601) is None
    assert conversation_ids.verify(token, SECRET, now=NOW + conversation_ids.MAX_AGE_S + 1) is None


def test_a_token_from_the_future_is_refused():
    assert conversation_ids.verify(signed(issued_at=NOW + 3600), SECRET, now=NOW) is None


def test_a_changed_time_id_principal_or_secret_breaks_the_signature():
    conversation_id, issued, tag, mac = signed().split(".")
    forgeries = [
        f"{conversation_id}.{NOW + 3600}.{tag}.{mac}",  # a later start, to live longer
        f"{'1' * 32}.{issued}.{tag}.{mac}",
        f"{conversation_id}.{issued}.{'0' * 16}.{mac}",
        conversation_ids.sign(conversation_id, "another-secret-0123456789abcdef"),
        f"{conversation_id}.{mac}",  # the form before signed times
        "",
        None,
        signed() + "x" * 200,
    ]
    for forged in forgeries:
        assert conversation_ids.verify(forged, SECRET, now=NOW) is None


def test_a_cookie_counts_only_for_the_principal_it_was_signed_for():
    adas = signed(ADA)
    assert conversation_ids.read(adas, SECRET, principal=ADA, now=NOW) is not None
    for other in (conversation_ids.ANONYMOUS, conversation_ids.customer_principal(2), ""):
        assert conversation_ids.read(adas, SECRET, principal=other, now=NOW) is None
    # Rasa's channel asks only whether we signed it.
    assert conversation_ids.verify(adas, SECRET, now=NOW) == "0" * 32


def test_the_cookie_does_not_show_the_customer_id():
    assert ":1" not in signed(ADA) and signed(ADA) != signed(conversation_ids.customer_principal(2))
