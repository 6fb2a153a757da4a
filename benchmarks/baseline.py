"""The baseline: LangChain's RAG tutorial pipeline, measured on the same questions, model and machine as ours.

`RecursiveCharacterTextSplitter` (1000 characters, 200 overlap), the same all-MiniLM-L6-v2 embeddings
(`assistant.embeddings.MiniLMEmbeddings`, a LangChain `Embeddings`), `langchain_chroma.Chroma` (its defaults)
and `similarity_search` with k=4. With no LLM in the loop the answer is the tutorial's context itself: the
top-k passages, each quoted and cited. It never refuses. Files are read by our loader, so both pipelines see
the same normalised text. Needs the `bench` extra: pip install -e '.[bench]'.

    python -m benchmarks.baseline ingest --persist DIR PATH...   # prints one JSON line of figures
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.documents import DocumentError, discover, load
from assistant.models import Answer, AnswerSentence, Chunk, Citation, Passage
from assistant.support import supports

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 4
COLLECTION = "baseline"
ADD_BATCH = 256  # documents per add_documents call: embedding and Chroma writes in bounded batches


def splitter():
    """The tutorial's splitter, keeping each split's start offset."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)


def split_files(paths: list[Path]) -> tuple[list, list[str]]:
    """LangChain Documents of every supported file under paths, split as the tutorial does; and the errors."""
    from langchain_core.documents import Document

    files, errors = discover(paths)
    docs = []
    for path in files:
        try:
            doc = load(path)
        except (DocumentError, OSError) as exc:
            errors.append(exc)
            continue
        docs.append(Document(page_content=doc.text, metadata={"doc_id": doc.doc_id, "title": doc.title,
                                                               "source": doc.source}))
    return splitter().split_documents(docs), [str(e) for e in errors]


@dataclass(kw_only=True)
class Baseline:
    """A persisted Chroma vector store searched by similarity, as in the tutorial."""

    store: object
    k: int = TOP_K

    @classmethod
    def open(cls, persist_dir: Path, embeddings, *, k: int = TOP_K) -> Baseline:
        """Open (or create) the persisted collection with the given embedding model."""
        from langchain_chroma import Chroma

        store = Chroma(collection_name=COLLECTION, embedding_function=embeddings, persist_directory=str(persist_dir))
        return cls(store=store, k=k)

    def add(self, splits: list) -> int:
        """Embed and store the splits in batches; ids are stable (document id and split number)."""
        for begin in range(0, len(splits), ADD_BATCH):
            batch = splits[begin:begin + ADD_BATCH]
            ids = [f"{d.metadata['doc_id']}:{d.metadata['start_index']}:{begin + i}" for i, d in enumerate(batch)]
            self.store.add_documents(batch, ids=ids)
        return len(splits)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """Top-k passages by similarity (Chroma's default L2 over unit vectors: the cosine order)."""
        found = self.store.similarity_search_with_score(question, k=k or self.k)
        return [Passage(chunk=_chunk(doc), score=-float(distance), rank=rank)
                for rank, (doc, distance) in enumerate(found, start=1)]

    def ask(self, question: str) -> Answer:
        """The tutorial's context as the answer: every retrieved passage quoted and cited, never a refusal."""
        began = time.perf_counter()
        passages = self.retrieve(question)
        retrieved = (time.perf_counter() - began) * 1000
        answer = answer_from(question, passages)
        answer.timings_ms = {"retrieve": retrieved, "total": (time.perf_counter() - began) * 1000}
        return answer


def answer_from(question: str, passages: list[Passage]) -> Answer:
    """An Answer whose sentences are the passages themselves, passage n cited as [n]."""
    citations = [Citation(id=n, doc_id=p.chunk.doc_id, source=p.chunk.source, title=p.chunk.title,
                          start=p.chunk.start, end=p.chunk.end, text=p.chunk.text, score=p.score, rank=p.rank)
                 for n, p in enumerate(passages, start=1)]
    sentences = [AnswerSentence(text=c.text, citations=(c.id,), supported=supports(c.text, [c.text]))
                 for c in citations]
    text = "\n\n".join(f"{c.text} [{c.id}]" for c in citations)
    return Answer(question=question, text=text, refused=False, citations=citations, sentences=sentences,
                  passages=passages, answerer="langchain-tutorial", search_query=question)


def _chunk(doc) -> Chunk:
    """A split as our Chunk record (span from the splitter's start_index)."""
    m = doc.metadata
    start = int(m.get("start_index", -1))
    return Chunk(chunk_id=doc.id or "", doc_id=m["doc_id"], title=m["title"], source=m["source"],
                 text=doc.page_content, start=start, end=start + len(doc.page_content), paragraph=0, index=0)


def ingest_main(argv: list[str]) -> None:
    """`ingest --persist DIR PATH...`: split, embed and store, then print the figures as one JSON line."""
    from assistant.embeddings import MiniLMEmbeddings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline ingest")
    parser.add_argument("--persist", type=Path, required=True)
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    splits, errors = split_files(args.paths)
    split_s = time.perf_counter() - began
    baseline = Baseline.open(args.persist, MiniLMEmbeddings())
    added = baseline.add(splits)
    print(json.dumps({"chunks": added, "embedded": added, "errors": errors, "split_s": split_s,
                      "seconds": time.perf_counter() - began}))


if __name__ == "__main__":
    if sys.argv[1:2] != ["ingest"]:
        sys.exit(__doc__)
    ingest_main(sys.argv[2:])
