"""The MiniLM sentence encoder at run time: ONNX Runtime and `tokenizers`, no torch.

Runs in Rasa's Python 3.10 environment (numpy 1.23), so it keeps to the plainest numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FILES = ("model.onnx", "tokenizer.json", "encoder.json")
BATCH_SIZE = 32


class EncoderMissing(FileNotFoundError):
    """The exported encoder is not where it should be."""


@dataclass(frozen=True)
class Encoding:
    """One text: a vector per word piece (with its character span) and the sentence vector."""

    piece_vectors: np.ndarray  # (pieces, dim), [CLS] and [SEP] left out
    piece_spans: list[tuple[int, int]]
    sentence_vector: np.ndarray  # (dim,), mean over all real tokens, unit length


class SentenceEncoder:
    """all-MiniLM-L6-v2, as exported by `lab.export_encoder`."""

    def __init__(self, directory: Path, *, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        missing = [name for name in FILES if not (directory / name).exists()]
        if missing:
            raise EncoderMissing(
                f"the MiniLM encoder is missing {', '.join(missing)} in {directory}: "
                "run `make setup` (it exports it with `python -m lab.export_encoder`)"
            )
        self.description: dict[str, Any] = json.loads((directory / "encoder.json").read_text())
        self.dimension = int(self.description["dimension"])
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(self.description["max_length"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> list[Encoding]:
        """Encode texts in length-sorted batches (less padding, same results)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[Encoding | None] = [None] * len(texts)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            encoded = self._encode_batch([texts[i] for i in chunk])
            for index, encoding in zip(chunk, encoded, strict=True):
                results[index] = encoding
        return [r for r in results if r is not None]

    def _encode_batch(self, texts: list[str]) -> list[Encoding]:
        batch = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        types = np.array([e.type_ids for e in batch], dtype=np.int64)
        (vectors,) = self._session.run(
            ["token_embeddings"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        encodings = []
        for row, encoding in enumerate(batch):
            real = mask[row].astype(bool)
            sentence = vectors[row][real].mean(axis=0)
            sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
            # Special tokens ([CLS], [SEP]) and padding have no word id.
            pieces = [i for i, word in enumerate(encoding.word_ids) if word is not None]
            encodings.append(
                Encoding(
                    piece_vectors=vectors[row][pieces].astype(np.float32),
                    piece_spans=[encoding.offsets[i] for i in pieces],
                    sentence_vector=sentence.astype(np.float32),
                )
            )
        return encodings


def token_vectors(encoding: Encoding, token_spans: list[tuple[int, int]]) -> np.ndarray:
    """One vector per token span: the mean of the word pieces inside it (zeros if none)."""
    dimension = encoding.sentence_vector.shape[0]
    out = np.zeros((len(token_spans), dimension), dtype=np.float32)
    for row, (start, end) in enumerate(token_spans):
        inside = [
            i
            for i, (piece_start, piece_end) in enumerate(encoding.piece_spans)
            if piece_start < end and piece_end > start
        ]
        if inside:
            out[row] = encoding.piece_vectors[inside].mean(axis=0)
    return out
