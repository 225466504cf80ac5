"""Articles in the CRM store: the migration, the repository and the idempotent seed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from supportbot.crm.db import get_engine, session_scope
from supportbot.kb.models import Article
from supportbot.kb.repository import Articles
from supportbot.kb.seed import ARTICLE_FILES, read_article_file, read_articles, seed_articles
from supportbot.store import migrate


def naive(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their UTC offset.
    return moment.replace(tzinfo=None)


def test_the_migration_creates_the_articles_table(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    migrate(url)
    inspector = sa.inspect(get_engine(url))
    columns = {column["name"] for column in inspector.get_columns("kb_articles")}
    assert columns == {
        "id", "slug", "title", "body", "questions", "source", "intent", "updated_at",
    }  # fmt: skip
    unique = [i for i in inspector.get_indexes("kb_articles") if i["unique"]]
    assert [i["column_names"] for i in unique] == [["slug"]]
    with get_engine(url).connect() as connection:
        version = connection.execute(sa.text("select version_num from alembic_version")).scalar()
    # 0002 is the knowledge base; later revisions build on it.
    assert version is not None and version >= "0002"
    migrate(url)  # idempotent


def test_upsert_creates_then_updates_in_place(kb_url: str):
    with session_scope(kb_url) as session:
        articles = Articles(session)
        created = articles.upsert(
            slug="loyalty-points",
            title="Loyalty points",
            body="You earn one point per dollar.",
            questions=["How do points work?"],
        )
        first_id, first_stamp = created.id, created.updated_at
    with session_scope(kb_url) as session:
        articles = Articles(session)
        unchanged = articles.upsert(
            slug="loyalty-points",
            title="Loyalty points",
            body="You earn one point per dollar.",
            questions=["How do points work?"],
        )
        assert unchanged.id == first_id and naive(unchanged.updated_at) == naive(first_stamp)
        edited = articles.upsert(
            slug="loyalty-points",
            title="Loyalty points",
            body="You earn two points per dollar.",
            questions=["How do points work?"],
            intent="review",
        )
        assert edited.id == first_id and edited.body.startswith("You earn two")
        assert naive(edited.updated_at) > naive(first_stamp) and edited.intent == "review"
    with session_scope(kb_url) as session:
        stored = Articles(session).get_by_slug("loyalty-points")
        assert stored is not None and stored.questions == ["How do points work?"]


def test_upsert_rejects_an_unknown_source(kb_url: str):
    with session_scope(kb_url) as session, pytest.raises(ValueError, match="source"):
        Articles(session).upsert(slug="x", title="X", body="x", source="wiki")


def test_delete(kb_url: str):
    with session_scope(kb_url) as session:
        articles = Articles(session)
        before = articles.count()
        assert articles.delete("gift-cards") is True
        assert articles.delete("gift-cards") is False
        assert articles.get_by_slug("gift-cards") is None
        assert articles.count() == before - 1


def test_the_fingerprint_follows_every_change_and_nothing_else(kb_url: str):
    def fingerprint() -> str:
        with session_scope(kb_url) as session:
            return Articles(session).fingerprint()

    start = fingerprint()
    assert fingerprint() == start
    with session_scope(kb_url) as session:
        seed_articles(session)  # a no-op
    assert fingerprint() == start
    with session_scope(kb_url) as session:
        Articles(session).upsert(slug="warranty", title="Warranty", body="Three years now.")
    edited = fingerprint()
    assert edited != start
    with session_scope(kb_url) as session:
        Articles(session).delete("warranty")
    assert fingerprint() not in (start, edited)


def test_seeding_is_idempotent(kb_url: str):
    expected = read_articles()
    with session_scope(kb_url) as session:
        rows = {a.slug: (a.id, a.updated_at) for a in Articles(session).list()}
        assert seed_articles(session) == len(expected)
    with session_scope(kb_url) as session:
        again = {a.slug: (a.id, a.updated_at) for a in Articles(session).list()}
        count = session.scalar(sa.select(sa.func.count(Article.id)))
    assert again == rows and count == len(expected)


def test_the_article_files_are_sound():
    ours, bitext = (read_article_file(path) for path in ARTICLE_FILES)
    assert len(ours) >= 30 and len(bitext) >= 10
    assert {a.source for a in ours} == {"supportbot"} and {a.source for a in bitext} == {"bitext"}
    for article in ours:
        assert 4 <= len(article.questions) <= 8, article.slug
        assert "<" not in article.body, article.slug  # plain text
    domain = Path(__file__).resolve().parents[3] / "domain.yml"
    import yaml

    intents = set(yaml.safe_load(domain.read_text())["intents"])
    for article in ours + bitext:
        assert article.intent is None or article.intent in intents, article.slug
        assert "{{" not in article.body, article.slug  # every Bitext placeholder filled


def test_a_duplicate_slug_across_files_is_refused(tmp_path: Path):
    path = tmp_path / "extra.yml"
    path.write_text("source: supportbot\narticles:\n  - {slug: gift-cards, title: T, body: B}\n")
    with pytest.raises(ValueError, match="gift-cards"):
        read_articles([*ARTICLE_FILES, path])
