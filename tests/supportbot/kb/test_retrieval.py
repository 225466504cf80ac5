"""Retrieval with the real MiniLM encoder over the articles of data/kb, in real SQLite."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from lab.kb.calibrate import load_kb_from_files
from supportbot.crm.db import session_scope
from supportbot.kb.index import LARGE_INDEX, FaissIndex
from supportbot.kb.repository import Articles
from supportbot.kb.retrieval import (
    FALLBACK_THRESHOLD,
    KnowledgeBase,
    get_knowledge_base,
    load_threshold,
    reset_knowledge_base,
)
from tests.db import sqlite_only
from tests.supportbot.kb.conftest import CountingEncoder


@pytest.fixture(scope="module")
def kb(encoder) -> KnowledgeBase:
    built = load_kb_from_files(encoder)
    built.threshold = load_threshold()
    return built


@pytest.fixture(autouse=True)
def _fresh_process_state():
    reset_knowledge_base()
    yield
    reset_knowledge_base()


@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("how long before the refund shows on my card", "refund-timing"),
        ("do you deliver to spain", "international-shipping"),
        ("my coupon isnt accepted", "discount-codes"),
        ("the mug was shattered when i opened the box", "damaged-item"),
        ("how do i stop getting your newsletters", "newsletter"),
        ("the item i want is out of stock", "back-in-stock"),
        ("can i get a gift card for a friend", "gift-cards"),
    ],
)
def test_paraphrases_find_their_article(kb: KnowledgeBase, question: str, slug: str):
    answer = kb.answer(question)
    assert answer.best is not None and answer.best.slug == slug
    assert len(answer.alternatives) == 2
    assert all(alt.score <= answer.best.score for alt in answer.alternatives)


@pytest.mark.parametrize(
    "question",
    ["how long before the refund shows on my card", "my coupon isnt accepted", "reset my password"],
)
def test_clear_questions_are_answered_confidently(kb: KnowledgeBase, question: str):
    answer = kb.answer(question)
    assert answer.best is not None
    assert answer.confident, f"{question!r} scored {answer.best.score:.3f} < {answer.threshold}"


@pytest.mark.parametrize(
    "question", ["what's the capital of France", "can you write me a poem", "who won the match"]
)
def test_unrelated_questions_fall_below_the_threshold(kb: KnowledgeBase, question: str):
    answer = kb.answer(question)
    assert answer.best is not None
    assert not answer.confident, f"{question!r} -> {answer.best.slug} {answer.best.score:.3f}"


def test_the_calibrated_threshold_is_stored_in_the_repo():
    assert load_threshold() != FALLBACK_THRESHOLD
    assert 0.3 < load_threshold() < 0.9


def test_hits_carry_the_article(kb: KnowledgeBase):
    (hit,) = kb.search("which payment methods do you take", k=1)
    assert hit.slug in {"payment-methods", "bitext-check-payment-methods"}
    assert hit.body and hit.title and hit.intent == "check_payment_methods"
    assert hit.matched in {"title", "question", "body"}
    assert kb.search("   ") == []


@sqlite_only  # the real encoder over every article; test_storage.py covers them on both
def test_the_index_is_cached_and_rebuilt_after_an_edit(kb_url: str, encoder, tmp_path: Path):
    counting = CountingEncoder(encoder)
    cache = tmp_path / "cache"
    with session_scope(kb_url) as session:
        first = KnowledgeBase.from_session(session, counting, cache_dir=cache, threshold=0.5)
    embedded = counting.texts
    assert embedded == len(first.vectors.vectors) > first.size
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".npy"]
    vectors = np.load(next(cache.glob("*.npy")), allow_pickle=False)
    assert vectors.shape == first.vectors.vectors.shape

    with session_scope(kb_url) as session:
        again = KnowledgeBase.from_session(session, counting, cache_dir=cache, threshold=0.5)
    assert counting.texts == embedded  # nothing re-embedded
    assert again.fingerprint == first.fingerprint
    np.testing.assert_array_equal(again.vectors.vectors, first.vectors.vectors)

    with session_scope(kb_url) as session:
        Articles(session).upsert(
            slug="loyalty-points",
            title="Loyalty points",
            body="Every dollar you spend earns one loyalty point; 100 points are a $5 voucher.",
            questions=["How do loyalty points work?", "How many points do I have?"],
        )
    with session_scope(kb_url) as session:
        rebuilt = KnowledgeBase.from_session(session, counting, cache_dir=cache, threshold=0.5)
    assert rebuilt.fingerprint != first.fingerprint
    assert counting.texts > embedded
    assert rebuilt.search("what are loyalty points worth", k=1)[0].slug == "loyalty-points"


@sqlite_only  # the real encoder over every article; test_storage.py covers them on both
def test_get_knowledge_base_sees_edits_without_a_restart(kb_url: str, encoder):
    counting = CountingEncoder(encoder)
    kb = get_knowledge_base(kb_url, encoder=counting, refresh_seconds=3600)
    assert get_knowledge_base(kb_url, encoder=counting, refresh_seconds=3600) is kb
    # Unchanged articles: the re-check after the refresh interval keeps the same object.
    assert get_knowledge_base(kb_url, encoder=counting, refresh_seconds=0) is kb
    with session_scope(kb_url) as session:
        Articles(session).upsert(
            slug="gift-cards",
            title="Gift cards",
            body="Gift cards are sold in shops only and never expire.",
            questions=["Do you sell gift cards?"],
        )
    assert get_knowledge_base(kb_url, encoder=counting, refresh_seconds=3600) is kb  # not yet
    fresh = get_knowledge_base(kb_url, encoder=counting, refresh_seconds=0)
    assert fresh is not kb
    best = fresh.answer("do gift cards expire").best
    assert best is not None and best.body.startswith("Gift cards are sold in shops only")


@sqlite_only  # the real encoder over every article; test_storage.py covers them on both
def test_get_knowledge_base_builds_once_under_concurrency(kb_url: str, encoder):
    counting = CountingEncoder(encoder)
    results: list[KnowledgeBase] = []

    def load() -> None:
        results.append(get_knowledge_base(kb_url, encoder=counting))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(kb) for kb in results}) == 1
    assert counting.texts == len(results[0].vectors.vectors)


def test_faiss_returns_the_same_top_hit_as_exact_search(kb: KnowledgeBase, encoder, tmp_path):
    questions = [
        "how long do refunds take",
        "can i pay with paypal",
        "my package never came",
        "is there a warranty",
        "how to reset my password",
        "do you ship to canada",
        "what's the capital of France",
    ]
    # A limit below the corpus size forces the faiss index.
    fingerprint = "faiss-test"
    approximate = KnowledgeBase.build(
        kb.articles,
        encoder,
        fingerprint=fingerprint,
        cache_dir=tmp_path,
        threshold=kb.threshold,
        exact_limit=10,
    )
    assert isinstance(approximate.index, FaissIndex) and kb.index.kind == "exact"
    assert list(tmp_path.glob(f"*.{LARGE_INDEX}.faiss"))  # written with faiss.write_index
    for question in questions:
        exact, fast = kb.search(question, k=3), approximate.search(question, k=3)
        assert fast[0].slug == exact[0].slug
        assert fast[0].score == pytest.approx(exact[0].score, abs=1e-5)
    # Reloaded from the cache, the faiss index answers the same.
    reloaded = KnowledgeBase.build(
        kb.articles, encoder, fingerprint=fingerprint, cache_dir=tmp_path, exact_limit=10
    )
    assert isinstance(reloaded.index, FaissIndex)
    assert reloaded.search(questions[0], k=1)[0].slug == kb.search(questions[0], k=1)[0].slug


def test_an_empty_knowledge_base_answers_nothing(kb_url: str):
    from tests.supportbot.kb.conftest import HashingEncoder

    with session_scope(kb_url) as session:
        articles = Articles(session)
        for article in articles.list():
            articles.delete(article.slug)
    kb = get_knowledge_base(kb_url, encoder=HashingEncoder())
    answer = kb.answer("where is my order")
    assert answer.best is None and not answer.confident and answer.alternatives == []


def test_the_shops_own_article_wins_over_a_close_generic_one():
    from supportbot.kb.retrieval import Hit, prefer_own_articles

    intent = "check_payment_methods"
    generic = Hit("bitext-pay", "Pay", "Visit our website.", 0.80, intent, "bitext")
    own = Hit("payment-methods", "Payment", "We accept PayPal.", 0.78, intent)
    other = Hit("payment-declined", "Declined", "...", 0.5, "payment_issue")
    assert prefer_own_articles([generic, own, other]) == [own, generic, other]
    # Not when the shop's article is clearly worse, or is about something else.
    far = Hit("payment-methods", "Payment", "We accept PayPal.", 0.70, intent)
    assert prefer_own_articles([generic, far]) == [generic, far]
    assert prefer_own_articles([generic, other]) == [generic, other]
