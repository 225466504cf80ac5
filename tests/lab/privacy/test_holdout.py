"""The held-out PII sets: what the converter writes, their size, independence, label checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.privacy import holdout2
from lab.privacy.dataset import Message, Span, read
from lab.privacy.holdout import HOLDOUT, SOURCE, SPLIT, build, problems
from supportbot.settings import PII_ENTITIES


@pytest.mark.parametrize(
    ("source", "target", "split"),
    [(SOURCE, HOLDOUT, SPLIT), (holdout2.SOURCE, holdout2.HOLDOUT, holdout2.SPLIT)],
)
def test_each_committed_holdout_is_what_the_converter_writes(
    source: Path, target: Path, split: str
) -> None:
    committed = target.read_text(encoding="utf-8")
    assert committed == "".join(message.to_json() + "\n" for message in build(source, split))


def test_the_holdout_is_large_covers_every_type_and_shares_nothing_with_the_old_set() -> None:
    messages = read(HOLDOUT)
    assert len(messages) >= 160
    assert sum(not message.spans for message in messages) >= 50
    assert {message.split for message in messages} == {SPLIT}
    for entity in PII_ENTITIES:
        assert sum(s.entity == entity for m in messages for s in m.spans) >= 20, entity
    old = read()
    old_values = {m.text[s.start : s.end].lower() for m in old for s in m.spans}
    assert not {m.text for m in messages} & {m.text for m in old}
    assert not {m.text[s.start : s.end].lower() for m in messages for s in m.spans} & old_values


def test_the_second_holdout_is_larger_and_shares_nothing_with_the_dev_set_or_the_first() -> None:
    messages = read(holdout2.HOLDOUT)
    assert len(messages) >= 200
    assert sum(not message.spans for message in messages) >= 60
    assert {message.split for message in messages} == {holdout2.SPLIT}
    for entity in PII_ENTITIES:
        assert sum(s.entity == entity for m in messages for s in m.spans) >= 25, entity
    earlier = read() + read(HOLDOUT)
    earlier_values = {m.text[s.start : s.end].lower() for m in earlier for s in m.spans}
    assert not {m.text for m in messages} & {m.text for m in earlier}
    assert not {m.text[s.start : s.end].lower() for m in messages for s in m.spans} & earlier_values


def test_the_converter_computes_offsets_from_the_markup(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text(
        "# header\n~~~\nThanks,\n[[Ada Lovelace|PERSON]] [[+44 7846 392017|PHONE_NUMBER]]\n~~~\n"
        "order 100234\n~~~\n"
    )
    first, second = build(source)
    assert first.text == "Thanks,\nAda Lovelace +44 7846 392017"
    assert first.spans == (Span(8, 20, "PERSON"), Span(21, 36, "PHONE_NUMBER"))
    assert (second.text, second.spans) == ("order 100234", ())


def test_an_address_written_on_several_lines_is_one_label(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text(
        "# header\n~~~\nSend it to\n[[2 Elm Row\nLeeds LS6 1AB|STREET_ADDRESS]]\n~~~\n"
    )
    (message,) = build(source, holdout2.SPLIT)
    assert message.text == "Send it to\n2 Elm Row\nLeeds LS6 1AB"
    assert message.spans == (Span(11, 34, "STREET_ADDRESS"),)
    assert message.split == holdout2.SPLIT


@pytest.mark.parametrize(
    ("text", "span", "problem"),
    [
        ("card 4111 1111 1111 1112", Span(5, 24, "CREDIT_CARD"), "fails its check"),
        ("iban DE89 3704 0044 0532 0130 01", Span(5, 32, "IBAN_CODE"), "fails its check"),
        ("call +44 7700 900461", Span(5, 20, "PHONE_NUMBER"), "fails its check"),
        ("mail ada@", Span(5, 9, "EMAIL_ADDRESS"), "fails its check"),
        ("card 4111 1111 1111 1111", None, "passes the Luhn check"),
        ("card 4111-1111-1111-1111", Span(0, 4, "PERSON"), "passes the Luhn check"),
        ("hi [[Ada", None, "markup"),
    ],
)
def test_a_label_that_is_not_what_it_claims_is_refused(
    text: str, span: Span | None, problem: str
) -> None:
    message = Message(text, () if span is None else (span,), SPLIT, "")
    assert any(problem in found for found in problems(message))


def test_good_labels_pass() -> None:
    text = "card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00, order 100234"
    spans = (Span(5, 24, "CREDIT_CARD"), Span(31, 58, "IBAN_CODE"))
    assert problems(Message(text, spans, SPLIT, "")) == []
