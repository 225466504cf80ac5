"""The knowledge base: answer articles in the CRM store and a retrieval model over them.

An action calls `get_knowledge_base().answer(question)` (blocking: from a worker thread) and
sends `answer.best.body` when `answer.confident`; see bot.kb.retrieval.
"""

# The CRM package imports this package's models (shared metadata) and repository (crm.articles):
# loading it first makes every import order resolve the same way.
import bot.crm  # noqa: F401
from bot.kb.models import Article
from bot.kb.repository import Articles
from bot.kb.retrieval import (
    Answer,
    Hit,
    KnowledgeBase,
    get_knowledge_base,
    load_threshold,
    reset_knowledge_base,
)
from bot.kb.seed import seed_articles

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
