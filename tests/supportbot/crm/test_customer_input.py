"""The one reading of what customers type: order and invoice numbers, emails, free text."""

from __future__ import annotations

import time

import pytest

from supportbot.crm.customer_input import (
    canonical_email,
    customer_text,
    find_email,
    find_order_number,
    parse_email,
    parse_invoice_number,
    parse_order_number,
)
from tests.email_attacks import LINEAR_BOUND_S, LONG_RUNS


@pytest.mark.parametrize(
    "value",
    [
        "100001",
        " #100001 ",
        "# 100001",
        "order 100001",
        "Order no. 100001",
        "ORDER NUMBER 100001",
        "order#100001",
        100001,
        ["100001", "100002"],  # the same entity extracted twice: the first counts
    ],
)
def test_an_order_number_is_read_in_the_ways_customers_write_it(value: object) -> None:
    assert parse_order_number(value) == "100001"


@pytest.mark.parametrize(
    "value",
    [
        "10001",
        "1000012",
        "100001a",
        "#100001 please",
        "my order is 100001",
        "",
        99999,
        1000000,
        -10000,
        True,
        100001.0,
        None,
        [],
    ],
)
def test_anything_else_is_not_an_order_number(value: object) -> None:
    assert parse_order_number(value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's #100001, thanks", "100001"),
        ("orders 100001 and 100002", "100001"),
        ("100001", "100001"),
        ("call me on 0123456789", None),  # part of a longer number
        ("order 10001", None),
        ("", None),
    ],
)
def test_an_order_number_is_found_in_a_sentence(text: str, expected: str | None) -> None:
    assert find_order_number(text) == expected


@pytest.mark.parametrize(
    "value", ["INV-500001", "inv500001", " inv # 500001 ", "#500001", "500001"]
)
def test_an_invoice_number_is_read_into_its_stored_form(value: str) -> None:
    assert parse_invoice_number(value) == "INV-500001"


@pytest.mark.parametrize("value", ["INV-50001", "invoice 500001", "INV-5000012", 500001, None])
def test_anything_else_is_not_an_invoice_number(value: object) -> None:
    assert parse_invoice_number(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  ADA@Example.com. ", "ada@example.com"),
        ("ada@example.com;", "ada@example.com"),
        (["grace@example.com", "ada@example.com"], "grace@example.com"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
        ("a" * 65 + "@example.com", None),
        ("ada@example", None),
        ("ada@example.c0m", None),
        ("ada@@example.com", None),
        ("ada @example.com", None),
        ("ada@example.com ;", None),  # only punctuation right after the address is dropped
        ("", None),
        (5, None),
        (None, None),
    ],
)
def test_an_email_answer_is_canonical_or_refused(value: object, expected: str | None) -> None:
    assert parse_email(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is <ada@example.com>.", "ada@example.com"),
        ("(Ada@Example.com)", "Ada@Example.com"),  # as written: parse_email canonicalises
        ("mail: ada@example.com, thanks", "ada@example.com"),
        ("no address here", None),
        ("ada@example", None),
        (
            "write to ada.lovelace+shop@mail.example.co.uk or me",
            "ada.lovelace+shop@mail.example.co.uk",
        ),
        ("first ada@example.com then grace@example.com", "ada@example.com"),
        (f"{'a' * 65}@example.com", None),  # longer than any mailbox name
    ],
)
def test_an_email_is_found_in_a_sentence(text: str, expected: str | None) -> None:
    assert find_email(text) == expected


@pytest.mark.parametrize("text", list(LONG_RUNS.values()), ids=list(LONG_RUNS))
def test_finding_an_email_takes_linear_time(text: str) -> None:
    """200 KB without spaces: the unanchored pattern rescanned the run from each character
    (20 KB took 4 s, 200 KB would take minutes); a linear scan takes milliseconds."""
    started = time.perf_counter()
    find_email(text)
    assert time.perf_counter() - started < LINEAR_BOUND_S


def test_an_email_is_compared_canonically() -> None:
    assert canonical_email(" Ada@Example.COM ") == "ada@example.com"


def test_free_text_keeps_its_lines_and_an_address_goes_on_one() -> None:
    typed = " line one\r\n\tline two\x00\x1bend\x7f "
    assert customer_text(typed, multiline=True) == "line one \n\tline two end"
    assert customer_text(typed, multiline=False) == "line one line two end"


@pytest.mark.parametrize("value", [None, 5, ["a list"]])
def test_anything_but_text_is_no_text(value: object) -> None:
    assert customer_text(value, multiline=True) == ""
    assert customer_text(value, multiline=False) == ""
