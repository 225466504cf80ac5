"""The labelled PII set and the detection benchmark: its data, its scorer, a quick run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from lab.privacy.benchmark import matches, score, write_section
from lab.privacy.dataset import (
    DATASET,
    DEV_ONLY,
    SPLITS,
    Message,
    Span,
    build,
    luhn_check_digit,
    read,
)


def test_the_committed_set_is_what_the_script_writes() -> None:
    committed = DATASET.read_text(encoding="utf-8")
    assert committed == "".join(message.to_json() + "\n" for message in build())


def test_the_set_is_large_balanced_and_its_spans_fit() -> None:
    messages = read()
    assert len(messages) >= 200
    assert sum(not message.spans for message in messages) >= 60
    # The split is stratified, apart from the messages written for dev alone.
    built = build()
    assert all(message.split == "dev" for message in built if message.kind == DEV_ONLY)
    stratified = [message for message in built if message.kind != DEV_ONLY]
    sizes = [sum(message.split == split for message in stratified) for split in SPLITS]
    assert abs(sizes[0] - sizes[1]) <= 0.1 * len(stratified)
    for message in messages:
        for span in message.spans:
            value = message.text[span.start : span.end]
            assert value.strip() == value and value, message.text
    texts = {split: {m.text for m in messages if m.split == split} for split in SPLITS}
    assert not texts["dev"] & texts["test"]


def test_card_numbers_in_the_set_are_luhn_valid_or_labelled_no_card() -> None:
    assert luhn_check_digit("411111111111111") == 1  # 4111 1111 1111 1111
    for message in read():
        for span in message.spans:
            if span.entity == "CREDIT_CARD":
                digits = [c for c in message.text[span.start : span.end] if c.isdigit()]
                assert luhn_check_digit("".join(digits[:-1])) == int(digits[-1])


def test_a_match_needs_the_same_type_and_half_the_longer_span() -> None:
    gold = Span(10, 30, "STREET_ADDRESS")
    assert matches(Span(10, 30, "STREET_ADDRESS"), gold)
    assert matches(Span(10, 20, "STREET_ADDRESS"), gold)  # half of the gold span
    assert not matches(Span(10, 19, "STREET_ADDRESS"), gold)
    assert not matches(Span(0, 41, "STREET_ADDRESS"), gold)  # the found span is too long
    assert not matches(Span(10, 30, "PERSON"), gold)


def test_each_span_counts_once() -> None:
    message = Message("Ada and Ada", (Span(0, 3, "PERSON"),), "dev", "")
    clean = Message("order 100001", (), "dev", "")
    result = score(
        [message, clean],
        [[Span(0, 3, "PERSON"), Span(8, 11, "PERSON")], [Span(6, 12, "PHONE_NUMBER")]],
    )
    person, phone = result.per_entity["PERSON"], result.per_entity["PHONE_NUMBER"]
    assert (person.true_positives, person.false_positives, person.false_negatives) == (1, 1, 0)
    assert (phone.precision, phone.recall) == (0.0, 1.0)
    assert (result.clean_messages, result.clean_messages_flagged) == (1, 1)
    assert result.overall.precision == pytest.approx(1 / 3)


def test_the_section_is_replaced_and_the_rest_of_the_report_kept(tmp_path: Path) -> None:
    report = tmp_path / "privacy.md"
    write_section(report, "## Detection\n\nfirst\n")
    assert report.read_text() == "# Privacy\n\n## Detection\n\nfirst\n"
    report.write_text(report.read_text() + "\n## Erasure\n\nkept\n")
    write_section(report, "## Detection\n\nsecond\n")
    assert report.read_text() == "# Privacy\n\n## Detection\n\nsecond\n\n## Erasure\n\nkept\n"


@pytest.mark.bench
def test_quick_benchmark_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "privacy.md"
    assert main(["bench-privacy", "--quick", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "held-out set 2 (the result)",
        "held-out set 1, scored before the improvements",
        "test split, seen during",
        "Presidio out",
        "p95",
    ):
        assert expected in out
    assert "## Detection" in report.read_text()
    assert "Quick run" in report.read_text()
