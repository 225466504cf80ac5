"""Load the repository's article files (data/kb/*.yml) into the CRM store, idempotently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from supportbot.kb.models import SOURCES
from supportbot.kb.repository import Articles
from supportbot.settings import PROJECT_ROOT

KB_DIR = PROJECT_ROOT / "data" / "kb"
ARTICLE_FILES = (KB_DIR / "articles.yml", KB_DIR / "bitext_answers.yml")


@dataclass(frozen=True)
class ArticleData:
    """One article as written in an article file."""

    slug: str
    title: str
    body: str
    questions: list[str] = field(default_factory=list)
    source: str = "supportbot"
    intent: str | None = None


def read_article_file(path: Path) -> list[ArticleData]:
    """Parse one file: `source: ...` and a list of `articles:` (slug, title, body, ...)."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    source = str(document.get("source", "supportbot"))
    if source not in SOURCES:
        raise ValueError(f"{path}: unknown source {source!r}")
    articles = []
    for entry in document.get("articles") or []:
        missing = [key for key in ("slug", "title", "body") if not entry.get(key)]
        if missing:
            raise ValueError(f"{path}: article {entry.get('slug')!r} lacks {', '.join(missing)}")
        articles.append(
            ArticleData(
                slug=str(entry["slug"]),
                title=" ".join(str(entry["title"]).split()),
                body=str(entry["body"]).strip(),
                questions=[" ".join(str(q).split()) for q in entry.get("questions") or []],
                source=source,
                intent=entry.get("intent") or None,
            )
        )
    return articles


def read_articles(paths: Iterable[Path] = ARTICLE_FILES) -> list[ArticleData]:
    """All articles of the given files; a slug may appear only once across them."""
    articles: list[ArticleData] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for article in read_article_file(path):
            if article.slug in seen:
                raise ValueError(
                    f"{path}: slug {article.slug!r} already used in {seen[article.slug]}"
                )
            seen[article.slug] = path
            articles.append(article)
    return articles


def seed_articles(session: Session, paths: Iterable[Path] = ARTICLE_FILES) -> int:
    """Upsert every article of the files by slug; returns how many the files hold.

    Running it again changes nothing (and keeps the index fingerprint). Articles that exist
    only in the database (added by an administrator) are left alone.
    """
    repository = Articles(session)
    articles = read_articles(paths)
    for article in articles:
        repository.upsert(
            slug=article.slug,
            title=article.title,
            body=article.body,
            questions=article.questions,
            source=article.source,
            intent=article.intent,
        )
    return len(articles)
