"""Hybrid retrieval: dense (cosine: an exact scan of the saved vectors, Chroma's HNSW past them) + lexical (BM25),
fused by reciprocal rank fusion."""

from __future__ import annotations

import threading

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .embeddings import MiniLMEmbeddings
from .indexes import Indexes, open_indexes
from .lexical import LexicalIndex
from .models import Chunk, Passage
from .store import Store
from .text import collapse

RRF_K = 60


class HybridRetriever(BaseRetriever):
    """LangChain retriever returning Documents whose metadata carries score, span and document id."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    embeddings: MiniLMEmbeddings
    k: int = 4
    candidates: int = 20
    _indexes: Indexes | None = PrivateAttr(default=None)
    _revision: tuple | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def indexes(self) -> Indexes:
        """The search indexes of the store as it is now: looked up again only when the store's revision changes,
        loaded from disk when this content was indexed before, else built and saved."""
        with self._lock:
            revision = self.store.revision
            if self._indexes is None or revision != self._revision:
                self._indexes = open_indexes(self.store)
                self._revision = revision
            return self._indexes

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index of the store as it is now."""
        return self.indexes().lexical

    def _last(self) -> Indexes:
        """The indexes the latest retrieval used: the answer's many term lookups (`idf`, `contains`) read the same
        revision as its passages, without a manifest read each."""
        return self._indexes or self.indexes()

    def lexical(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 score (chunks sharing no term with the query left out)."""
        indexes = self.indexes()
        return _with_chunks(indexes, indexes.lexical.search(query, k))[0]

    def dense(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """Top-k chunks by cosine similarity: an exact scan of the saved vectors, or Chroma's HNSW past them."""
        indexes = self.indexes()
        return _with_chunks(indexes, self._dense_hits(indexes, query, k))[0]

    def _dense_hits(self, indexes: Indexes, query: str, k: int) -> list[tuple[str | Chunk, float]]:
        """(chunk id, cosine) from the saved vectors, or (Chunk, cosine) from HNSW when there are none."""
        vector = self.embeddings.embed_query(query)
        return self.store.query(vector, k) if indexes.vectors is None else indexes.vectors.search(vector, k)

    def idf(self, term: str) -> float:
        """Term weight from the current corpus, for answerers that score sentences."""
        return self._last().lexical.idf(term)

    def contains(self, term: str) -> bool:
        """Whether any stored chunk contains the term (for names the sources never mention)."""
        return self._last().lexical.contains(term)

    def passages(self, query: str, k: int | None = None) -> list[Passage]:
        """Fuse the dense and lexical rankings and keep the best k."""
        k, indexes = k or self.k, self.indexes()  # one revision for both rankings and their chunks
        dense, lexical = _with_chunks(indexes, self._dense_hits(indexes, query, self.candidates),
                                      indexes.lexical.search(query, self.candidates))
        fused: dict[str, dict] = {}
        for name, ranking in (("dense", dense), ("lexical", lexical)):
            for rank, (chunk, score) in enumerate(ranking, start=1):
                entry = fused.setdefault(chunk.chunk_id, {"chunk": chunk, "rrf": 0.0})
                entry["rrf"] += 1.0 / (RRF_K + rank)
                entry[name] = score
                entry[f"{name}_rank"] = rank
        ranked = sorted(fused.values(), key=lambda e: (-e["rrf"], e["chunk"].doc_id, e["chunk"].start))
        best = _distinct_texts(ranked)[:k]
        return [Passage(chunk=e["chunk"], score=e["rrf"], rank=r, dense_score=e.get("dense"),
                        lexical_score=e.get("lexical"), dense_rank=e.get("dense_rank"),
                        lexical_rank=e.get("lexical_rank")) for r, e in enumerate(best, start=1)]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        """LangChain hook: passages as Documents."""
        return [passage_to_document(p) for p in self.passages(query)]


def _with_chunks(indexes: Indexes, *rankings: list[tuple[str | Chunk, float]]) -> list[list[tuple[Chunk, float]]]:
    """Rankings of (chunk id or Chunk, score) as (Chunk, score), the ids read from the saved chunk records."""
    ids = list(dict.fromkeys(hit for ranking in rankings for hit, _ in ranking if isinstance(hit, str)))
    chunks = indexes.records.get(ids)
    return [[(chunks[hit] if isinstance(hit, str) else hit, score) for hit, score in ranking
             if not isinstance(hit, str) or hit in chunks] for ranking in rankings]


def _distinct_texts(ranked: list[dict]) -> list[dict]:
    """Keep the best-ranked of chunks with identical text (copies of one document), in rank order."""
    seen, out = set(), []
    for entry in ranked:
        text = collapse(entry["chunk"].text)
        if text not in seen:
            seen.add(text)
            out.append(entry)
    return out


def passage_to_document(passage: Passage) -> Document:
    """A Passage as a LangChain Document (text + metadata with score, span and ids)."""
    c = passage.chunk
    return Document(page_content=c.text, id=c.chunk_id, metadata={
        "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "source": c.source, "start": c.start,
        "end": c.end, "paragraph": c.paragraph, "index": c.index, "score": passage.score, "rank": passage.rank,
        "dense_score": passage.dense_score, "lexical_score": passage.lexical_score, "page": c.page,
        "section": c.section})


def document_to_passage(doc: Document) -> Passage:
    """Inverse of passage_to_document."""
    m = doc.metadata
    chunk = Chunk(chunk_id=m["chunk_id"], doc_id=m["doc_id"], title=m["title"], source=m["source"],
                  text=doc.page_content, start=m["start"], end=m["end"], paragraph=m["paragraph"], index=m["index"],
                  page=m.get("page", 0), section=m.get("section", ""))
    return Passage(chunk=chunk, score=m["score"], rank=m["rank"], dense_score=m.get("dense_score"),
                   lexical_score=m.get("lexical_score"))
