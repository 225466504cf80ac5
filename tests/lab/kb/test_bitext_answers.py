"""Knowledge-base articles from Bitext's answer bank: filled placeholders, a reproducible file."""

from __future__ import annotations

import pytest

from lab.datasets.bitext_answers import (
    UnknownPlaceholder,
    answer_bank_path,
    build_articles,
    fill,
    load_answer_bank,
    pick_questions,
    pick_response,
    to_yaml,
)
from supportbot.kb.seed import ARTICLE_FILES


def test_placeholders_become_the_shop_facts():
    text = fill(
        "Visit our {{Website Name}}, open {{Account Settings}} or call "
        "{{Customer Support Phone Number}} ({{Customer Support Hours}})."
    )
    assert text == (
        "Visit our website, open Account settings or call +1 555 0100 (Monday to Friday, 8am-8pm)."
    )
    assert fill("Write to {{Customer Support Email}}.") == "Write to support@example.com."
    with pytest.raises(UnknownPlaceholder):
        fill("Go to {{Loyalty Dashboard}}.")


def test_the_pick_is_the_shortest_fitting_answer():
    responses = [
        "Could you tell me your order number?",  # asks back
        "Our team is available 24/7 at {{Customer Support Phone Number}}.",  # not this shop
        "See the {{Mystery Section}}.",  # unknown placeholder
        "Call {{Customer Support Phone Number}} for help with anything at all.",
        "Call {{Customer Support Phone Number}}.",
    ]
    assert pick_response(responses) == "Call +1 555 0100."
    assert pick_response(responses[:3]) is None


def test_questions_are_plain_and_independent_of_order():
    instructions = ["help with my {{Order Number}}", "order 12345", "how do I pay", "what to pay"]
    assert pick_questions(instructions) == pick_questions(list(reversed(instructions)))
    assert set(pick_questions(instructions)) == {"how do I pay", "what to pay"}


@pytest.mark.skipif(not answer_bank_path().exists(), reason=f"no {answer_bank_path()}")
def test_the_committed_file_is_what_the_script_generates():
    articles, _ = build_articles(load_answer_bank())
    assert ARTICLE_FILES[1].read_text(encoding="utf-8") == to_yaml(articles)
