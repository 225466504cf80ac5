"""The knowledge base: answer articles in the CRM store and a retrieval model over them.

An action calls `get_knowledge_base().answer(question)` (blocking: from a worker thread) and
sends `answer.best.body` when `answer.confident`; see supportbot.kb.retrieval.
"""

from supportbot.kb.models import Article
from supportbot.kb.repository import Articles
from supportbot.kb.retrieval import (
    Answer,
    Hit,
    KnowledgeBase,
    get_knowledge_base,
    load_threshold,
    reset_knowledge_base,
)
from supportbot.kb.seed import seed_articles

__all__ = [
    "Answer",
    "Article",
    "Articles",
    "Hit",
    "KnowledgeBase",
    "get_knowledge_base",
    "load_threshold",
    "reset_knowledge_base",
    "seed_articles",
]
