"""The knowledge base's table: answer articles, stored beside the CRM's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportbot.crm.models import Base, utcnow

SOURCES = ("supportbot", "bitext")


class Article(Base):
    """One answer: what it says (title, body) and how customers ask for it (questions)."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "supportbot" (written for this shop) or "bitext" (derived from Bitext's answer bank).
    source: Mapped[str] = mapped_column(String(20), default="supportbot")
    # The Rasa intent the article mainly answers, if one fits.
    intent: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return f"Article({self.slug!r})"
