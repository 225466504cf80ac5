"""`supportbot-lab bench-retrieval`: the knowledge-base retrieval benchmark, written to reports/.

One run, on this machine: builds the knowledge base of data/kb in a temporary SQLite CRM, then
1. accuracy on data/kb/eval/heldout.yml for the MiniLM scorings and a TF-IDF baseline, each with
   its own threshold calibrated on dev.yml the same way (precision >= 0.95 on what is answered);
2. query latency (encode + search) over the real knowledge base and over 1,000 articles;
3. scale: 100,000 synthetic articles (real passage vectors plus noise, normalised), exact numpy
   against the faiss indexes: build time, query time, recall@3 against exact search.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lab.kb.baseline import TfidfRetriever
from lab.kb.calibrate import load_kb_from_files
from lab.kb.evaluation import (
    DEV_SET,
    HELDOUT_SET,
    Calibration,
    EvalQuestion,
    Metrics,
    Ranking,
    calibrate,
    evaluate,
    load_eval_set,
)
from lab.latency import p50_p95
from supportbot.kb.cache import CachedVectors
from supportbot.kb.index import (
    EXACT_LIMIT,
    HNSW_EF_SEARCH,
    HNSW_M,
    IVF_NPROBE,
    LARGE_INDEX,
    ExactIndex,
    IndexKind,
    VectorIndex,
    as_unit_rows,
    build_index,
)
from supportbot.kb.retrieval import (
    DEFAULT_SCORING,
    ArticleRecord,
    Encoder,
    KnowledgeBase,
    Scoring,
    load_threshold,
)
from supportbot.settings import PROJECT_ROOT

REPORT = PROJECT_ROOT / "reports" / "retrieval.md"
TARGET_TOP1 = 0.90
TARGET_PRECISION = 0.95
# Noise added to each coordinate of a real passage vector to make a synthetic one: its norm is
# about 1, so a synthetic passage keeps a cosine of about 0.7 with the one it came from.
NOISE = 1 / np.sqrt(384)
# Synthetic corpora around EXACT_LIMIT: 6,000, 20,001 and 60,000 vectors.
CROSSOVER_ARTICLES = (2_000, 6_667, 20_000)


@dataclass(frozen=True)
class ModelResult:
    name: str
    calibration: Calibration
    heldout: Metrics


@dataclass(frozen=True)
class Latency:
    name: str
    articles: int
    vectors: int
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class ScaleResult:
    name: str
    build_s: float
    p50_ms: float
    p95_ms: float
    recall_at_3: float


def _percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    return p50_p95([1e3 * s for s in seconds])


def _timed(function: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    durations = []
    for text in texts:
        started = time.perf_counter()
        function(text)
        durations.append(time.perf_counter() - started)
    return _percentiles(durations)


def _model(
    name: str,
    retrieve: Callable[[str], Ranking],
    dev: Sequence[EvalQuestion],
    heldout: Sequence[EvalQuestion],
) -> ModelResult:
    fitted = calibrate(dev, [retrieve(q.text) for q in dev])
    metrics = evaluate(heldout, [retrieve(q.text) for q in heldout], fitted.threshold)
    return ModelResult(name, fitted, metrics)


def _kb_ranker(kb: KnowledgeBase) -> Callable[[str], Ranking]:
    cache: dict[str, np.ndarray] = {}

    def retrieve(text: str) -> Ranking:
        # Encode each question once: the scorings differ only after the encoder.
        if text not in cache:
            cache[text] = kb.encode(text)
        return [(hit.slug, hit.score) for hit in kb.search_vector(cache[text], 3)]

    return retrieve


def accuracy(
    kb: KnowledgeBase, articles: Sequence[ArticleRecord], encoder: Encoder
) -> list[ModelResult]:
    dev, heldout = load_eval_set(DEV_SET), load_eval_set(HELDOUT_SET)
    results = [_model("MiniLM, best passage + centroid (the bot)", _kb_ranker(kb), dev, heldout)]
    variants = [
        ("MiniLM, best passage only", Scoring("multi", 1.0)),
        ("MiniLM, centroid only (one vector per article)", Scoring("multi", 0.0)),
        ("MiniLM, whole article as one text", Scoring("single", 1.0)),
    ]
    for name, scoring in variants:
        if scoring.layout == kb.scoring.layout:
            variant = KnowledgeBase(
                kb.articles, kb.vectors, encoder, threshold=0.0, index=kb.index, scoring=scoring
            )
        else:
            variant = KnowledgeBase.build(articles, encoder, threshold=0.0, scoring=scoring)
        results.append(_model(name, _kb_ranker(variant), dev, heldout))
    tfidf = TfidfRetriever(articles)
    results.append(_model("TF-IDF word 1-2-grams, cosine", tfidf.search, dev, heldout))
    return results


def _synthetic(
    base: CachedVectors,
    articles: int,
    passages_per_article: int | None,
    rng: np.random.Generator,
) -> CachedVectors:
    """Articles made of a random real article's passages (or the first few) plus noise."""
    owners = base.passage_article
    starts = np.searchsorted(owners, np.arange(owners.max() + 2))
    rows: list[np.ndarray] = []
    for source in rng.integers(0, len(starts) - 1, size=articles):
        span = np.arange(starts[source], starts[source + 1])
        if passages_per_article is not None:
            # Title, one random question (if any) and body.
            middle = span[1:-1]
            pick = [span[0], rng.choice(middle) if len(middle) else span[0], span[-1]]
            span = np.asarray(pick[:passages_per_article])
        rows.append(span)
    lengths = np.array([len(r) for r in rows])
    flat = np.concatenate(rows)
    noise = rng.standard_normal((len(flat), base.vectors.shape[1])).astype(np.float32) * NOISE
    vectors = as_unit_rows(base.vectors[flat] + noise)
    owner = np.repeat(np.arange(articles), lengths)
    kinds = [base.passage_kind[i] for i in flat]
    return CachedVectors(vectors, owner, kinds)


def _synthetic_articles(count: int) -> list[ArticleRecord]:
    return [ArticleRecord(i, f"synthetic-{i}", f"Synthetic {i}", "") for i in range(count)]


def latency(
    kb: KnowledgeBase, articles: Sequence[ArticleRecord], encoder: Encoder, texts: Sequence[str]
) -> list[Latency]:
    rng = np.random.default_rng(7)
    thousand = _synthetic(kb.vectors, 1_000, None, rng)
    big = KnowledgeBase(
        _synthetic_articles(1_000), thousand, encoder, threshold=0.0, scoring=kb.scoring
    )
    tfidf = TfidfRetriever(articles)
    # TF-IDF over 1,000 articles: the real ones repeated under new slugs.
    repeated = [
        replace(a, id=i, slug=f"{a.slug}-{i}") for i in range(1_000) for a in [articles[i % 52]]
    ]
    tfidf_big = TfidfRetriever(repeated)
    results = []
    for name, size, vectors, function in (
        ("MiniLM (encode + search)", kb.size, len(kb.vectors.vectors), kb.search),
        ("MiniLM (encode + search)", big.size, len(big.vectors.vectors), big.search),
        ("TF-IDF", len(articles), 0, tfidf.search),
        ("TF-IDF", len(repeated), 0, tfidf_big.search),
    ):
        function(texts[0])  # warm-up
        p50, p95 = _timed(function, texts)
        results.append(Latency(name, size, vectors, p50, p95))
    return results


def scale(
    kb: KnowledgeBase, encoder: Encoder, queries: np.ndarray, articles: int, passages: int
) -> tuple[list[ScaleResult], int]:
    rng = np.random.default_rng(11)
    vectors = _synthetic(kb.vectors, articles, passages, rng)
    records = _synthetic_articles(articles)
    results = []
    exact_top: list[list[str]] = []
    kinds: list[tuple[IndexKind, str]] = [
        ("exact", "exact numpy (inner product)"),
        ("hnsw", f"faiss HNSW (M={HNSW_M}, efSearch={HNSW_EF_SEARCH})"),
        ("ivf", f"faiss IVF-Flat (4*sqrt(n) lists, nprobe={IVF_NPROBE})"),
    ]
    for kind, label in kinds:
        started = time.perf_counter()
        index: VectorIndex = (
            ExactIndex(vectors.vectors) if kind == "exact" else build_index(vectors.vectors, kind)
        )
        built = KnowledgeBase(
            records, vectors, encoder, threshold=0.0, index=index, scoring=kb.scoring
        )
        build_s = time.perf_counter() - started
        durations, tops = [], []
        for query in queries:
            t0 = time.perf_counter()
            hits = built.search_vector(query, 3)
            durations.append(time.perf_counter() - t0)
            tops.append([hit.slug for hit in hits])
        if kind == "exact":
            exact_top = tops
        recall = float(
            np.mean([len(set(a) & set(b)) / 3 for a, b in zip(tops, exact_top, strict=True)])
        )
        p50, p95 = _percentiles(durations)
        results.append(ScaleResult(label, build_s, p50, p95, recall))
        del built, index
    return results, len(vectors.vectors)


@dataclass(frozen=True)
class Crossover:
    vectors: int
    exact_ms: tuple[float, float]  # p50, p95
    faiss_ms: tuple[float, float]


def crossover(
    kb: KnowledgeBase,
    encoder: Encoder,
    queries: np.ndarray,
    kind: IndexKind,
    sizes: Sequence[int] = CROSSOVER_ARTICLES,
) -> list[Crossover]:
    """Exact against faiss search time around EXACT_LIMIT (3 passages per article)."""
    rng = np.random.default_rng(13)
    results = []
    for articles in sizes:
        vectors = _synthetic(kb.vectors, articles, 3, rng)
        records = _synthetic_articles(articles)
        timings = []
        for index in (ExactIndex(vectors.vectors), build_index(vectors.vectors, kind)):
            built = KnowledgeBase(
                records, vectors, encoder, threshold=0.0, index=index, scoring=kb.scoring
            )
            durations = []
            for query in queries:
                started = time.perf_counter()
                built.search_vector(query, 3)
                durations.append(time.perf_counter() - started)
            timings.append(_percentiles(durations))
        results.append(Crossover(len(vectors.vectors), timings[0], timings[1]))
    return results


def _pct(value: float) -> str:
    return f"{value:.1%}"


def render(
    models: list[ModelResult],
    latencies: list[Latency],
    scaled: list[ScaleResult],
    scale_shape: tuple[int, int, int],
    build: tuple[float, float],
    stored_threshold: float,
    kb: KnowledgeBase,
    crossing: list[Crossover],
) -> str:
    bot = models[0]
    met = bot.heldout.top1 >= TARGET_TOP1 and bot.heldout.precision >= TARGET_PRECISION
    heldout = bot.heldout
    lines = [
        "# Knowledge-base retrieval benchmark",
        "",
        f"`make bench-retrieval`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()} with {_cpus()} CPUs, Python {platform.python_version()}. "
        f"Knowledge base: {kb.size} articles of data/kb ({len(kb.vectors.vectors)} passage "
        "vectors, all-MiniLM-L6-v2 via ONNX Runtime, one thread). Held-out set: "
        f"data/kb/eval/heldout.yml, {heldout.in_scope} customer questions plus "
        f"{heldout.unrelated} unrelated ones, written by hand and never used to build the "
        "index, the articles or the threshold. Each model's threshold is calibrated on "
        "data/kb/eval/dev.yml: the most coverage with precision >= 95% on what is answered "
        "(an unrelated question answered counts as wrong).",
        "",
        "## Accuracy (held-out)",
        "",
        "| model | threshold (dev) | top-1 | top-3 | coverage | precision "
        "| in-scope answered right | unrelated rejected |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in models:
        h = m.heldout
        lines.append(
            f"| {m.name} | {m.calibration.threshold:.3f} | {_pct(h.top1)} | {_pct(h.top3)} "
            f"| {_pct(h.coverage)} | {_pct(h.precision)} | {_pct(h.in_scope_answered_correctly)} "
            f"| {_pct(h.unrelated_rejected)} |"
        )
    lines += [
        "",
        "top-1/top-3: in-scope questions whose article is first / among the first three. "
        "Coverage: share of all held-out questions (unrelated included) answered at the "
        "threshold; precision: share of the answered ones answered with the right article. "
        "The scorings were compared on dev.yml and the bot uses the best one there; these "
        "held-out numbers were not used to choose.",
        "",
        f"Targets (the bot's model): top-1 >= {TARGET_TOP1:.0%} and precision >= "
        f"{TARGET_PRECISION:.0%} — **{'met' if met else 'NOT met'}** (top-1 {_pct(heldout.top1)}, "
        f"precision {_pct(heldout.precision)}). Threshold in data/kb/threshold.json: "
        f"{stored_threshold:.3f}; recalibrated in this run: {bot.calibration.threshold:.3f}.",
        "",
        "## Latency (one question at a time, held-out questions)",
        "",
        "| retriever | articles | vectors | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for lat in latencies:
        count = f"{lat.vectors:,}" if lat.vectors else "-"
        lines.append(
            f"| {lat.name} | {lat.articles:,} | {count} | {lat.p50_ms:.2f} | {lat.p95_ms:.2f} |"
        )
    cold, warm = build
    articles, vectors, per = scale_shape
    lines += [
        "",
        f"Building the index of the {kb.size} articles: {cold:.1f} s to embed them (first "
        f"start), {warm * 1e3:.0f} ms from the disk cache. The 1,000 articles are synthetic "
        "(real articles' passage vectors plus noise); TF-IDF's are the real ones repeated.",
        "",
        f"## Scale: {articles:,} synthetic articles ({per} passages each, {vectors:,} vectors)",
        "",
        "Search only (questions already encoded; encoding adds ~3-5 ms), including the exact "
        "re-scoring of candidate articles. Recall@3: share of exact search's top 3 articles "
        "that the index also returns.",
        "",
        "| search | build s | p50 ms | p95 ms | recall@3 vs exact |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in scaled:
        lines.append(
            f"| {s.name} | {s.build_s:.1f} | {s.p50_ms:.2f} | {s.p95_ms:.2f} "
            f"| {s.recall_at_3:.1%} |"
        )
    lines += [
        "",
        f"Where faiss takes over (`EXACT_LIMIT` = {EXACT_LIMIT:,} vectors; "
        f"faiss {LARGE_INDEX.upper()} above it), search time in ms:",
        "",
        "| vectors | exact p50 | exact p95 | faiss p50 | faiss p95 |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in crossing:
        lines.append(
            f"| {c.vectors:,} | {c.exact_ms[0]:.2f} | {c.exact_ms[1]:.2f} "
            f"| {c.faiss_ms[0]:.2f} | {c.faiss_ms[1]:.2f} |"
        )
    lines.append("")
    return "\n".join(lines)


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def run(
    *,
    out: Path = REPORT,
    scale_articles: int = 100_000,
    scale_passages: int = 3,
    crossover_articles: Sequence[int] = CROSSOVER_ARTICLES,
    encoder: Encoder | None = None,
) -> bool:
    """Run the whole benchmark, print the report and write it to `out`; True if targets met."""
    if encoder is None:
        from supportbot.encoder import get_sentence_encoder

        encoder = get_sentence_encoder()
    started = time.perf_counter()
    kb = load_kb_from_files(encoder, DEFAULT_SCORING)
    cold = time.perf_counter() - started
    articles = kb.articles
    warm = _warm_load_seconds(kb, encoder)
    print(f"knowledge base: {kb.size} articles, {len(kb.vectors.vectors)} vectors", flush=True)
    models = accuracy(kb, articles, encoder)
    print("accuracy done", flush=True)
    heldout = load_eval_set(HELDOUT_SET)
    texts = [q.text for q in heldout]
    latencies = latency(kb, articles, encoder, texts)
    print("latency done", flush=True)
    queries = np.stack([kb.encode(q.text) for q in heldout if q.in_scope])
    scaled, vectors = scale(kb, encoder, queries, scale_articles, scale_passages)
    crossing = crossover(kb, encoder, queries, LARGE_INDEX, crossover_articles)
    report = render(
        models,
        latencies,
        scaled,
        (scale_articles, vectors, scale_passages),
        (cold, warm),
        load_threshold(),
        kb,
        crossing,
    )
    print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(f"wrote {out}")
    bot = models[0].heldout
    return bot.top1 >= TARGET_TOP1 and bot.precision >= TARGET_PRECISION


def _warm_load_seconds(kb: KnowledgeBase, encoder: Encoder) -> float:
    """Seconds to load the same knowledge base again from a (temporary) disk cache."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="supportbot-kb-cache-") as directory:
        KnowledgeBase.build(
            kb.articles, encoder, fingerprint="bench", cache_dir=Path(directory), threshold=0.0
        )
        started = time.perf_counter()
        KnowledgeBase.build(
            kb.articles, encoder, fingerprint="bench", cache_dir=Path(directory), threshold=0.0
        )
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot-lab bench-retrieval", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--scale-articles", type=int, default=100_000)
    args = parser.parse_args(argv)
    run(out=args.out, scale_articles=args.scale_articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
