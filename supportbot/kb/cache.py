"""The on-disk cache of the knowledge base's vectors (and faiss index), keyed by what made them.

Files under `<settings.data_dir>/kb/`, named by a key over the article fingerprint, the encoder
fingerprint and the passage layout:

    <key>.npy         passage vectors, float32 (np.save, read with allow_pickle=False)
    <key>.json        sidecar: the articles (id, slug) and passages each vector belongs to
    <key>.<kind>.faiss the faiss index over those vectors, for corpora above the exact limit

The sidecar is written last, so a reader never sees half an entry; each file is written to a
temporary name and renamed. Old entries beyond the newest `KEEP` are deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supportbot.kb.index import FaissIndex, IndexKind

log = logging.getLogger(__name__)

FORMAT = 1
KEEP = 4


@dataclass(frozen=True)
class CachedVectors:
    vectors: np.ndarray  # (passages, dim) float32, unit rows
    passage_article: np.ndarray  # (passages,) int, row of the article each vector belongs to
    passage_kind: list[str]


def cache_key(fingerprint: str, encoder: str, layout: str) -> str:
    raw = f"{FORMAT}|{fingerprint}|{encoder}|{layout}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class IndexCache:
    """One directory of cache entries; safe to share between processes (atomic renames)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, key: str, article_slugs: Sequence[str]) -> CachedVectors | None:
        """The cached vectors, if an entry exists for the same articles in the same order."""
        sidecar = self.directory / f"{key}.json"
        try:
            meta: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or meta.get("slugs") != list(article_slugs):
                return None
            vectors = np.load(self.directory / f"{key}.npy", allow_pickle=False)
        except (OSError, ValueError) as error:
            if not isinstance(error, FileNotFoundError):
                log.warning("ignoring unreadable knowledge-base cache entry %s: %s", key, error)
            return None
        passage_article = np.asarray(meta["passage_article"], dtype=np.int64)
        if vectors.shape[0] != len(passage_article):
            return None
        self._touch(sidecar)
        return CachedVectors(vectors.astype(np.float32, copy=False), passage_article, meta["kinds"])

    def save(self, key: str, article_slugs: Sequence[str], cached: CachedVectors) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        vectors_path = self.directory / f"{key}.npy"
        _atomic(vectors_path, lambda handle: np.save(handle, cached.vectors, allow_pickle=False))
        meta = {
            "format": FORMAT,
            "slugs": list(article_slugs),
            "passage_article": [int(row) for row in cached.passage_article],
            "kinds": cached.passage_kind,
        }
        payload = json.dumps(meta).encode()
        _atomic(self.directory / f"{key}.json", lambda handle: handle.write(payload))
        self._prune()

    def load_faiss(self, key: str, kind: IndexKind) -> FaissIndex | None:
        path = self.directory / f"{key}.{kind}.faiss"
        if not path.exists():
            return None
        try:
            return FaissIndex.load(path, kind)
        except RuntimeError as error:  # faiss reports a corrupt file as RuntimeError
            log.warning("ignoring unreadable faiss index %s: %s", path.name, error)
            return None

    def save_faiss(self, key: str, index: FaissIndex) -> None:
        import faiss

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{key}.{index.kind}.faiss"
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        faiss.write_index(index.index, str(temporary))
        os.replace(temporary, path)

    def _prune(self) -> None:
        entries = sorted(
            self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for stale in entries[KEEP:]:
            for path in self.directory.glob(f"{stale.stem}.*"):
                path.unlink(missing_ok=True)

    @staticmethod
    def _touch(path: Path) -> None:
        # Pruning keeps the most recently used entries.
        with contextlib.suppress(OSError):
            os.utime(path)


def _atomic(path: Path, write: Any) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        write(handle)
    os.replace(temporary, path)
