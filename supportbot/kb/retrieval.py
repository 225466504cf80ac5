"""Retrieval over the knowledge base: which article answers a customer's question, and how sure.

Each article is embedded as several passages (its title, each example question, its body). An
article's score is the mean of two cosines: with its best-matching passage (catches a close
paraphrase of one question) and with the centroid of its passages (what the article is about
overall). On data/kb/eval/dev.yml that mix beat the best passage alone, the centroid alone and
one vector of the whole article; reports/retrieval.md has the held-out numbers.

`KnowledgeBase.answer` is confident when the best score reaches the threshold calibrated on
dev.yml (`python -m lab.kb.calibrate`, stored in data/kb/threshold.json).

    kb = get_knowledge_base()              # process-wide, lazy, refreshed when articles change
    answer = kb.answer("how long do refunds take?")
    if answer.confident: reply(answer.best.body)
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from sqlalchemy.orm import Session

from supportbot.kb.cache import CachedVectors, IndexCache, cache_key
from supportbot.kb.index import (
    EXACT_LIMIT,
    FaissIndex,
    IndexKind,
    VectorIndex,
    as_unit_rows,
    build_index,
    choose_kind,
    dot_rows,
)
from supportbot.kb.models import Article
from supportbot.kb.repository import Articles
from supportbot.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

# "multi": title, each question and body as separate passages; "single": one text per article.
Layout = Literal["multi", "single"]

THRESHOLD_FILE = PROJECT_ROOT / "data" / "kb" / "threshold.json"
# Used only if threshold.json is missing: a cautious value (answers little, rarely wrongly).
FALLBACK_THRESHOLD = 0.7
# Weight of the best passage against the article centroid (chosen on dev.yml).
BEST_PASSAGE_WEIGHT = 0.5
# With a faiss index, the articles of this many nearest passages are re-scored exactly.
CANDIDATE_PASSAGES = 256
# How often get_knowledge_base() re-reads the article fingerprint (one narrow query).
REFRESH_SECONDS = 30.0
# The shop's own article beats a generic Bitext answer on the same intent when this close.
OWN_ARTICLE_MARGIN = 0.05


class _Encoded(Protocol):
    @property
    def sentence_vector(self) -> np.ndarray: ...


class Encoder(Protocol):
    """What retrieval needs of an encoder (common.encoder.SentenceEncoder, or a test fake)."""

    def encode(self, texts: list[str]) -> Sequence[_Encoded]: ...


@dataclass(frozen=True)
class ArticleRecord:
    """An article's content, detached from the database session."""

    id: int
    slug: str
    title: str
    body: str
    questions: tuple[str, ...] = ()
    intent: str | None = None
    source: str = "supportbot"

    @classmethod
    def of(cls, article: Article) -> ArticleRecord:
        return cls(
            id=article.id,
            slug=article.slug,
            title=article.title,
            body=article.body,
            questions=tuple(article.questions or ()),
            intent=article.intent,
            source=article.source,
        )


@dataclass(frozen=True)
class Hit:
    """An article that matches a question; `matched` names its best passage (title, question...)."""

    slug: str
    title: str
    body: str
    score: float
    intent: str | None = None
    source: str = "supportbot"
    matched: str = "body"


@dataclass(frozen=True)
class Answer:
    """The best article for a question, whether it is good enough to send, and runners-up."""

    best: Hit | None
    confident: bool
    alternatives: list[Hit] = field(default_factory=list)
    threshold: float = FALLBACK_THRESHOLD


@dataclass(frozen=True)
class Scoring:
    """How articles are embedded and scored; threshold.json records the one it was fitted to."""

    layout: Layout = "multi"
    best_passage_weight: float = BEST_PASSAGE_WEIGHT

    def as_dict(self) -> dict[str, Any]:
        return {"layout": self.layout, "best_passage_weight": self.best_passage_weight}


DEFAULT_SCORING = Scoring()


def load_threshold(path: Path = THRESHOLD_FILE, scoring: Scoring = DEFAULT_SCORING) -> float:
    """The calibrated threshold from threshold.json (FALLBACK_THRESHOLD if it is missing)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(stored["threshold"])
    except (OSError, ValueError, KeyError) as error:
        log.warning("no calibrated retrieval threshold (%s); using %s", error, FALLBACK_THRESHOLD)
        return FALLBACK_THRESHOLD
    if stored.get("scoring") != scoring.as_dict():
        log.warning(
            "%s was calibrated for scoring %s, not %s: run `python -m lab.kb.calibrate`",
            path,
            stored.get("scoring"),
            scoring.as_dict(),
        )
    return threshold


def encoder_fingerprint(encoder: Encoder) -> str:
    """Identifies the encoder's vectors: its class and, for the MiniLM export, encoder.json."""
    description = getattr(encoder, "description", None)
    payload = json.dumps(
        {"class": type(encoder).__qualname__, "description": description},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def passages(article: ArticleRecord, layout: Layout) -> list[tuple[str, str]]:
    """(kind, text) pairs to embed for one article; never empty."""
    if layout == "single":
        # One text per article; MiniLM reads the first 128 word pieces of it.
        whole = " ".join([article.title + ".", *article.questions, article.body])
        return [("article", whole)]
    texts = [("title", article.title)]
    texts += [("question", question) for question in article.questions]
    texts.append(("body", article.body))
    return texts


def embed_articles(
    articles: Sequence[ArticleRecord], encoder: Encoder, layout: Layout = "multi"
) -> CachedVectors:
    """Passage vectors for the articles, grouped by article, in article order."""
    kinds: list[str] = []
    texts: list[str] = []
    owner: list[int] = []
    for row, article in enumerate(articles):
        for kind, text in passages(article, layout):
            kinds.append(kind)
            texts.append(text)
            owner.append(row)
    if texts:
        vectors = as_unit_rows(np.stack([e.sentence_vector for e in encoder.encode(texts)]))
    else:
        vectors = np.zeros((0, 384), dtype=np.float32)
    return CachedVectors(vectors, np.asarray(owner, dtype=np.int64), kinds)


class KnowledgeBase:
    """Articles and their passage vectors behind a vector index; immutable once built."""

    def __init__(
        self,
        articles: Sequence[ArticleRecord],
        vectors: CachedVectors,
        encoder: Encoder,
        *,
        threshold: float | None = None,
        fingerprint: str = "",
        index: VectorIndex | None = None,
        exact_limit: int = EXACT_LIMIT,
        scoring: Scoring = DEFAULT_SCORING,
    ) -> None:
        self.articles = list(articles)
        self.vectors = vectors
        self.encoder = encoder
        self.scoring = scoring
        self.threshold = load_threshold(scoring=scoring) if threshold is None else threshold
        self.fingerprint = fingerprint
        owners = vectors.passage_article
        if len(owners) and (np.any(np.diff(owners) < 0) or len(np.unique(owners)) != len(articles)):
            raise ValueError("every article needs passages, grouped in article order")
        # Passages of article i are rows starts[i]:starts[i + 1].
        self._starts = np.searchsorted(owners, np.arange(len(self.articles) + 1))
        self._centroids = (
            as_unit_rows(np.add.reduceat(vectors.vectors, self._starts[:-1], axis=0))
            if len(owners)
            else vectors.vectors[:0]
        )
        self.index: VectorIndex = index or build_index(
            vectors.vectors, choose_kind(len(vectors.vectors), exact_limit)
        )

    @classmethod
    def from_session(
        cls,
        session: Session,
        encoder: Encoder,
        *,
        cache_dir: Path | None = None,
        threshold: float | None = None,
        exact_limit: int = EXACT_LIMIT,
        scoring: Scoring = DEFAULT_SCORING,
    ) -> KnowledgeBase:
        """Load the articles and their vectors (from the cache if the fingerprints match)."""
        repository = Articles(session)
        fingerprint = repository.fingerprint()
        articles = [ArticleRecord.of(article) for article in repository.list()]
        return cls.build(
            articles,
            encoder,
            fingerprint=fingerprint,
            cache_dir=cache_dir,
            threshold=threshold,
            exact_limit=exact_limit,
            scoring=scoring,
        )

    @classmethod
    def build(
        cls,
        articles: Sequence[ArticleRecord],
        encoder: Encoder,
        *,
        fingerprint: str = "",
        cache_dir: Path | None = None,
        threshold: float | None = None,
        exact_limit: int = EXACT_LIMIT,
        scoring: Scoring = DEFAULT_SCORING,
    ) -> KnowledgeBase:
        """Embed the articles (or reuse cached vectors) and index them."""
        slugs = [article.slug for article in articles]
        cache = IndexCache(cache_dir) if cache_dir is not None and fingerprint else None
        key = cache_key(fingerprint, encoder_fingerprint(encoder), scoring.layout)
        vectors = cache.load(key, slugs) if cache else None
        if vectors is None:
            started = time.perf_counter()
            vectors = embed_articles(articles, encoder, scoring.layout)
            log.info(
                "embedded %d knowledge-base articles (%d passages) in %.1f s",
                len(articles),
                len(vectors.vectors),
                time.perf_counter() - started,
            )
            if cache:
                cache.save(key, slugs, vectors)
        kind: IndexKind = choose_kind(len(vectors.vectors), exact_limit)
        index: VectorIndex | None = None
        if kind != "exact":
            index = cache.load_faiss(key, kind) if cache else None
            if index is None or index.size != len(vectors.vectors):
                built = build_index(vectors.vectors, kind)
                assert isinstance(built, FaissIndex)
                index = built
                if cache:
                    cache.save_faiss(key, built)
        return cls(
            articles,
            vectors,
            encoder,
            threshold=threshold,
            fingerprint=fingerprint,
            index=index,
            exact_limit=exact_limit,
            scoring=scoring,
        )

    @property
    def size(self) -> int:
        return len(self.articles)

    def encode(self, question: str) -> np.ndarray:
        return as_unit_rows(self.encoder.encode([question])[0].sentence_vector)[0]

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The k best articles for the question, best first."""
        if not question.strip() or not self.articles:
            return []
        return self.search_vector(self.encode(question), k)

    def search_vector(self, vector: np.ndarray, k: int = 3) -> list[Hit]:
        """Like `search`, for an already encoded (unit-length) question."""
        if not self.articles or k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        weight = self.scoring.best_passage_weight
        if self.index.kind == "exact":
            candidates = None
            best = np.maximum.reduceat(dot_rows(self.vectors.vectors, vector), self._starts[:-1])
            scores = weight * best + (1 - weight) * dot_rows(self._centroids, vector)
        else:
            # The nearest passages nominate articles; those are then scored exactly.
            _, rows = self.index.search(vector[None, :], CANDIDATE_PASSAGES)
            candidates = np.unique(self.vectors.passage_article[rows[0][rows[0] >= 0]])
            starts, ends = self._starts[candidates], self._starts[candidates + 1]
            lengths = ends - starts
            # All passages of the candidates in one product, then the best per candidate.
            offsets = np.cumsum(lengths) - lengths
            passage_rows = np.repeat(starts - offsets, lengths) + np.arange(lengths.sum())
            best = np.maximum.reduceat(
                dot_rows(self.vectors.vectors[passage_rows], vector), offsets
            )
            scores = weight * best + (1 - weight) * dot_rows(self._centroids[candidates], vector)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        rows_of = top if candidates is None else candidates[top]
        return [
            self._hit(vector, int(r), float(s)) for r, s in zip(rows_of, scores[top], strict=True)
        ]

    def _best_passage(self, vector: np.ndarray, article: int) -> tuple[int, float]:
        start, end = self._starts[article], self._starts[article + 1]
        scores = dot_rows(self.vectors.vectors[start:end], vector)
        best = int(np.argmax(scores))
        return int(start) + best, float(scores[best])

    def _hit(self, vector: np.ndarray, row: int, score: float) -> Hit:
        article = self.articles[row]
        passage, _ = self._best_passage(vector, row)
        return Hit(
            slug=article.slug,
            title=article.title,
            body=article.body,
            score=score,
            intent=article.intent,
            source=article.source,
            matched=self.vectors.passage_kind[passage],
        )

    def article_for_intent(self, intent: str) -> ArticleRecord | None:
        """The article written for an intent, the shop's own before Bitext's; None if there is none.

        For a customer who picked the intent from a button: its payload is no question to embed."""
        candidates = [article for article in self.articles if article.intent == intent]
        candidates.sort(key=lambda article: article.source != "supportbot")
        return candidates[0] if candidates else None

    def answer(self, question: str, *, alternatives: int = 2) -> Answer:
        """The best hit, confident if its score reaches the threshold, and the next hits."""
        hits = prefer_own_articles(self.search(question, k=1 + alternatives))
        best = hits[0] if hits else None
        return Answer(
            best=best,
            confident=best is not None and best.score >= self.threshold,
            alternatives=hits[1:],
            threshold=self.threshold,
        )


def prefer_own_articles(hits: list[Hit]) -> list[Hit]:
    """Put the shop's own article first when a Bitext answer on its intent barely beats it.

    Bitext's answers are generic ("visit our website"); the shop's say what the shop does.
    """
    if not hits or hits[0].source == "supportbot" or hits[0].intent is None:
        return hits
    top = hits[0]
    own = next(
        (
            hit
            for hit in hits[1:]
            if hit.source == "supportbot"
            and hit.intent == top.intent
            and hit.score >= top.score - OWN_ARTICLE_MARGIN
        ),
        None,
    )
    if own is None:
        return hits
    return [own, *(hit for hit in hits if hit is not own)]


@dataclass
class _Loaded:
    kb: KnowledgeBase
    checked_at: float


_lock = threading.Lock()
_loaded: dict[str, _Loaded] = {}


def get_knowledge_base(
    url: str | None = None,
    *,
    encoder: Encoder | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
) -> KnowledgeBase:
    """The process's knowledge base for the CRM at `url` (default: the configured one).

    Built on first use (from the disk cache when the articles are unchanged). At most every
    `refresh_seconds` the next call re-reads the article fingerprint and rebuilds if articles were
    added, edited or deleted, so edits show up without a restart. Thread-safe: one thread
    checks or rebuilds while the others wait. Blocking (database, encoder): call it from a worker
    thread in async code.
    """
    from supportbot.crm.db import session_scope

    settings = get_settings()
    key = url or settings.database_url
    current = _loaded.get(key)
    if current is not None and time.monotonic() - current.checked_at < refresh_seconds:
        return current.kb
    with _lock:
        current = _loaded.get(key)
        if current is not None and time.monotonic() - current.checked_at < refresh_seconds:
            return current.kb
        with session_scope(url) as session:
            if current is not None and Articles(session).fingerprint() == current.kb.fingerprint:
                kb = current.kb
            else:
                if encoder is None:
                    from supportbot.encoder import get_sentence_encoder

                    encoder = get_sentence_encoder()
                kb = KnowledgeBase.from_session(
                    session, encoder, cache_dir=settings.data_dir / "kb"
                )
        _loaded[key] = _Loaded(kb, time.monotonic())
        return kb


def reset_knowledge_base() -> None:
    """Forget the loaded knowledge bases (tests; the disk cache stays)."""
    with _lock:
        _loaded.clear()
