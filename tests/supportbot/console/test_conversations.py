"""The conversation list's filters, paging, reviews, tags and exports, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from supportbot.console import conversations as conv
from supportbot.console.models import ReviewStatus
from supportbot.store import crm_session

ALL = ["acb", "a_b", "conv-d", "conv-c", "conv-b", "conv-a"]  # newest first


def ids(url: str, **filters: Any) -> list[str]:
    with crm_session(url) as crm:
        page = conv.list_conversations(
            crm.session, conv.ConversationFilter(**filters), page_size=100
        )
    assert page.total == len(page.items)
    return [item["sender_id"] for item in page.items]


def test_no_filter_lists_everything_newest_first(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url) == ALL


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("zoë", ["conv-b", "conv-a"]),  # customer name, any case
        ("QUINN", ["conv-b", "conv-a"]),
        ("MAX@example", ["conv-d"]),  # customer email
        ("great", ["conv-a"]),  # review notes
        ("100%", ["conv-b"]),  # '%' is literal
        ("bug", ["conv-b"]),  # tag
        ("conv-c", ["conv-c"]),  # sender id
        ("a_b", ["a_b"]),  # '_' is literal
        ("nothing like it", []),
    ],
)
def test_free_text(hand_made: tuple[str, dict[str, int]], q: str, expected: list[str]):
    url, _ = hand_made
    assert ids(url, q=q) == expected


def test_date_range_is_inclusive_of_whole_days(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url, date_from=date(2026, 1, 12), date_to=date(2026, 1, 12)) == ["conv-d", "conv-c"]
    assert ids(url, date_from=date(2026, 1, 13)) == ["acb", "a_b"]
    assert ids(url, date_to=date(2026, 1, 10)) == ["conv-a"]


def test_intent_matches_whole_list_elements(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url, intent="track_order") == ["conv-d", "conv-a"]
    assert ids(url, intent="track_order_status") == ["conv-c"]
    assert ids(url, intent="track") == []
    assert ids(url, intent="complaint") == ["conv-b"]


@pytest.mark.parametrize(
    ("band", "expected"),
    [
        ("negative", ["conv-b"]),
        ("neutral", ["conv-d", "conv-c"]),  # -0.25 is still neutral
        ("positive", ["conv-a"]),
    ],
)
def test_sentiment_bands(hand_made: tuple[str, dict[str, int]], band: str, expected: list[str]):
    url, _ = hand_made
    assert ids(url, sentiment=band) == expected


def test_handoff(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url, handoff=True) == ["conv-b"]
    assert ids(url, handoff="no") == ["acb", "a_b", "conv-d", "conv-c", "conv-a"]


@pytest.mark.parametrize(
    ("csat", "expected"),
    [
        ("5", ["conv-a"]),
        ("1", ["conv-b"]),
        ("4", []),
        ("rated", ["conv-d", "conv-b", "conv-a"]),
        ("unrated", ["acb", "a_b", "conv-c"]),
    ],
)
def test_csat(hand_made: tuple[str, dict[str, int]], csat: str, expected: list[str]):
    url, _ = hand_made
    assert ids(url, csat=csat) == expected


def test_review_status_without_a_review_is_new(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url, review_status="new") == ["acb", "a_b", "conv-d", "conv-c"]
    assert ids(url, review_status="reviewed") == ["conv-a"]
    assert ids(url, review_status="needs_training_data") == ["conv-b"]


def test_tag_and_customer(hand_made: tuple[str, dict[str, int]]):
    url, customers = hand_made
    assert ids(url, tag="billing") == ["conv-d", "conv-b"]
    assert ids(url, tag="BILLING") == ["conv-d", "conv-b"]
    assert ids(url, customer=str(customers["zoe"])) == ["conv-b", "conv-a"]
    assert ids(url, customer="Max@Example.org") == ["conv-d"]


def test_filters_combine(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    assert ids(url, intent="track_order", sentiment="neutral") == ["conv-d"]
    assert ids(url, tag="billing", handoff=True, q="quinn") == ["conv-b"]


def test_paging_counts_and_stays_stable(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    f = conv.ConversationFilter()
    with crm_session(url) as crm:
        pages = [conv.list_conversations(crm.session, f, page=n, page_size=4) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [6, 6, 6] and pages[0].pages == 2
    assert [i["sender_id"] for p in pages for i in p.items] == ALL
    assert pages[2].items == []


def test_a_list_item_carries_customer_review_and_tags(hand_made: tuple[str, dict[str, int]]):
    url, customers = hand_made
    with crm_session(url) as crm:
        (item,) = conv.list_conversations(crm.session, conv.ConversationFilter(q="100%")).items
    assert item["customer"] == {
        "id": customers["zoe"],
        "name": "Zoë Quinn",
        "email": "zoe.quinn@example.org",
    }
    assert item["tags"] == ["billing", "bug"]
    assert item["review_status"] == "needs_training_data"
    assert item["sentiment"] == "negative" and item["handoff"] is True
    assert item["started_at"] == "2026-01-11T12:00:00+00:00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"intent": "track order"}, "intent"),
        ({"intent": "x'; drop"}, "intent"),
        ({"sentiment": "angry"}, "sentiment"),
        ({"csat": "6"}, "csat"),
        ({"csat": "0"}, "csat"),
        ({"review_status": "done"}, "review_status"),
        ({"tag": "no spaces"}, "tag"),
        ({"customer": "bob"}, "customer"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_filters_name_the_field(params: dict[str, str], field: str):
    with pytest.raises(ValidationError) as error:
        conv.ConversationFilter(**params)
    assert [e["loc"] for e in error.value.errors()] == [(field,)]


def test_blank_filters_are_unset():
    assert conv.ConversationFilter(q=" ", intent="", tag="") == conv.ConversationFilter()


def test_paging_limits(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    with crm_session(url) as crm, pytest.raises(conv.InvalidInput, match="page_size"):
        conv.list_conversations(crm.session, conv.ConversationFilter(), page_size=101)
    with crm_session(url) as crm, pytest.raises(conv.InvalidInput, match="page"):
        conv.list_conversations(crm.session, conv.ConversationFilter(), page=0)


# --- reviews and tags ----------------------------------------------------------------------


@pytest.fixture
def url(hand_made: tuple[str, dict[str, int]]) -> str:
    return hand_made[0]


def test_review_defaults_to_new_and_updates(url: str):
    with crm_session(url) as crm:
        assert conv.review(crm.session, "acb")["status"] == "new"
        updated = conv.update_review(crm.session, "acb", agent_id=None, status="reviewed")
        assert updated["status"] == "reviewed" and updated["notes"] == ""
        updated = conv.update_review(crm.session, "acb", agent_id=None, notes="  Fine.  ")
    assert updated["status"] == "reviewed" and updated["notes"] == "Fine."
    assert ids(url, review_status="reviewed") == ["acb", "conv-a"]


def test_review_validation(url: str):
    with crm_session(url) as crm:
        with pytest.raises(conv.InvalidInput, match=r"^status"):
            conv.update_review(crm.session, "acb", agent_id=None, status="done")
        with pytest.raises(conv.InvalidInput, match=r"^notes"):
            conv.update_review(crm.session, "acb", agent_id=None, notes="x" * 5001)
        with pytest.raises(conv.ConversationNotFound):
            conv.update_review(crm.session, "nope", agent_id=None, status="reviewed")
        conv.update_review(crm.session, "acb", agent_id=None, notes="x" * 5000)


def test_tags_are_normalised_unique_and_removable(url: str):
    with crm_session(url) as crm:
        assert conv.add_tag(crm.session, "acb", " Late-Delivery ", agent_id=None) == [
            "late-delivery"
        ]
        assert conv.add_tag(crm.session, "acb", "late-delivery", agent_id=None) == ["late-delivery"]
        assert conv.add_tag(crm.session, "acb", "a_1", agent_id=None) == ["a_1", "late-delivery"]
        assert conv.remove_tag(crm.session, "acb", "LATE-DELIVERY") == ["a_1"]
        assert conv.remove_tag(crm.session, "acb", "never-there") == ["a_1"]


@pytest.mark.parametrize("tag", ["", "with space", "x" * 41, "ümlaut", "semi;colon", "a/b"])
def test_bad_tags_are_refused(url: str, tag: str):
    with crm_session(url) as crm, pytest.raises(conv.InvalidInput, match=r"^tag"):
        conv.add_tag(crm.session, "acb", tag, agent_id=None)


# --- exports ---------------------------------------------------------------------------------


def test_csv_quotes_and_guards_against_formulas():
    record: dict[str, Any] = {
        "sender_id": "s1",
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": None,
        "customer": {"id": 1, "name": '=HYPERLINK("http://evil","x")', "email": "@a.b"},
        "intents": ["greet"],
        "outcome": "resolved",
        "handoff": False,
        "sentiment_average": -0.5,
        "sentiment": "negative",
        "satisfaction_estimate": 2.5,
        "csat_rating": None,
        "csat_comment": '+1, "great"\nreally',
        "fallback_count": 0,
        "review_status": "new",
        "notes": "-2 stars",
        "tags": ["a", "b"],
    }
    text = conv.to_csv([record])
    assert text.startswith(",".join(conv.CSV_COLUMNS) + "\r\n")
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["customer_name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["customer_email"] == "'@a.b"
    assert row["csat_comment"] == '\'+1, "great"\nreally'
    assert row["notes"] == "'-2 stars"
    assert row["sentiment_average"] == "-0.5"  # a number, not a formula
    assert row["tags"] == "a b" and row["handoff"] == "no" and row["ended_at"] == ""


def test_export_of_a_filtered_set(hand_made: tuple[str, dict[str, int]]):
    url, _ = hand_made
    with crm_session(url) as crm:
        records = list(conv.iter_conversations(crm.session, conv.ConversationFilter(tag="billing")))
    data = json.loads(conv.to_json(records))
    assert [c["sender_id"] for c in data["conversations"]] == ["conv-d", "conv-b"]
    rows = list(csv.DictReader(io.StringIO(conv.to_csv(records), newline="")))
    assert [r["sender_id"] for r in rows] == ["conv-d", "conv-b"]
    assert rows[1]["review_status"] == ReviewStatus.NEEDS_TRAINING_DATA.value


def test_transcript_csv():
    text = conv.transcript_to_csv("s1", [{"sender": "customer", "text": "=1+1", "timestamp": 1.5}])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [list(conv.TRANSCRIPT_CSV_COLUMNS), ["s1", "0", "1.5", "customer", "'=1+1"]]
