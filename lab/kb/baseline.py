"""The TF-IDF baseline retriever: one document per article (title, questions, body), cosine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from supportbot.kb.retrieval import ArticleRecord


class TfidfRetriever:
    """Word uni- and bigrams with sublinear term frequency: the classic FAQ-search baseline."""

    def __init__(self, articles: Sequence[ArticleRecord]) -> None:
        self.slugs = [article.slug for article in articles]
        documents = [" ".join([a.title, *a.questions, a.body]) for a in articles]
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"
        )
        # Rows come out L2-normalised, so a dot product is the cosine.
        self.matrix = self.vectorizer.fit_transform(documents)

    def search(self, question: str, k: int = 3) -> list[tuple[str, float]]:
        scores = (self.matrix @ self.vectorizer.transform([question]).T).toarray().ravel()
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.slugs[i], float(scores[i])) for i in best]
