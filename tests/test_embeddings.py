"""The embedding model's batching: small padded batches (a token budget) give the same vectors as one text at a
time, in input order, and never pad a pass past the budget."""

import numpy as np

from assistant.embeddings import MiniLMEmbeddings

from .conftest import ESSAY


def test_batches_give_the_vectors_of_one_text_at_a_time_in_input_order(embeddings):
    text = ESSAY.read_text(encoding="utf-8")
    texts = [text[i:i + n] for i, n in zip(range(0, 3000, 150), [40, 900, 120, 600, 20] * 4, strict=False)]
    together = embeddings.encode(texts)
    alone = np.stack([embeddings.encode([t])[0] for t in texts])
    assert together.shape == (len(texts), 384)
    assert np.abs(together - alone).max() < 1e-4
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_forward_pass_stays_within_the_token_budget(embeddings):
    model = MiniLMEmbeddings(batch_tokens=64, batch_size=32)
    texts = ["word " * n for n in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)]
    sizes = []
    vectors = model.encode(texts, progress=sizes.append)
    assert sum(sizes) == len(texts) and vectors.shape == (len(texts), 384)
    widths = sorted(len(model._tokenizer.encode(t).ids) for t in texts)
    start = 0
    for size in sizes:
        assert size == 1 or size * widths[start + size - 1] <= 64
        start += size
    assert max(sizes) > 1 and min(sizes) == 1  # short texts share a pass, the longest go alone
    assert np.abs(vectors - embeddings.encode(texts)).max() < 1e-4
