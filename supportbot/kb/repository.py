"""Reading and writing knowledge-base articles inside one CRM session."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supportbot.crm.models import utcnow
from supportbot.kb.models import SOURCES, Article


class Articles:
    """The knowledge base's articles, in the session's transaction (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, *, source: str | None = None) -> builtins.list[Article]:
        """All articles (or those of one source), in a stable order: by id."""
        query = select(Article).order_by(Article.id)
        if source is not None:
            query = query.where(Article.source == source)
        return list(self.session.scalars(query))

    def get_by_slug(self, slug: str) -> Article | None:
        return self.session.scalars(select(Article).where(Article.slug == slug)).one_or_none()

    def upsert(
        self,
        *,
        slug: str,
        title: str,
        body: str,
        questions: Sequence[str] = (),
        source: str = "supportbot",
        intent: str | None = None,
    ) -> Article:
        """Create the article or update it in place; `updated_at` moves only if something changed.

        Leaving an unchanged article untouched keeps the index fingerprint, so re-seeding does
        not force every process to re-embed the knowledge base.
        """
        if source not in SOURCES:
            raise ValueError(f"unknown article source {source!r}; expected one of {SOURCES}")
        values = {
            "title": title,
            "body": body,
            "questions": [str(q) for q in questions],
            "source": source,
            "intent": intent,
        }
        article = self.get_by_slug(slug)
        if article is None:
            article = Article(slug=slug, updated_at=utcnow(), **values)
            self.session.add(article)
        else:
            changed = {k: v for k, v in values.items() if getattr(article, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(article, key, value)
                article.updated_at = utcnow()
        self.session.flush()
        return article

    def delete(self, slug: str) -> bool:
        """Delete the article; False if there was none with that slug."""
        article = self.get_by_slug(slug)
        if article is None:
            return False
        self.session.delete(article)
        self.session.flush()
        return True

    def count(self) -> int:
        return int(self.session.scalar(select(func.count(Article.id))) or 0)

    def fingerprint(self) -> str:
        """A hash of (id, updated_at) of every article and their count.

        Reads two narrow columns, no text: cheap enough to poll. Any insert, edit or delete
        changes it (a re-created slug gets a new id).
        """
        digest = hashlib.sha256()
        count = 0
        for article_id, updated_at in self.session.execute(
            select(Article.id, Article.updated_at).order_by(Article.id)
        ):
            digest.update(f"{article_id}:{_timestamp(updated_at)};".encode())
            count += 1
        digest.update(f"count={count}".encode())
        return digest.hexdigest()[:32]


def _timestamp(value: datetime | None) -> str:
    # SQLite hands back naive datetimes, PostgreSQL aware ones: both print the same instant.
    return "" if value is None else value.replace(tzinfo=None).isoformat()
