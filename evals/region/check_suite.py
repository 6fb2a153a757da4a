"""Check an eval suite (region, arctic, ...) against its corpus, so a broken question is caught before it skews a score.

Checks: each line's keys and types, unique consecutive ids with the first id's letter prefix (r01.., a01..),
evidence excerpts of at least 6 words that occur verbatim (after collapsing whitespace runs) in exactly one
corpus file and hold no heading or list marker, minimum counts per kind and per `hard` sub-kind, dev/test
alternation within each kind, and the shape of each corpus file.
Usage: python evals/region/check_suite.py [SUITE_DIR]   (default: evals/region)
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

KEYS = {"id", "question", "answerable", "reference", "evidence", "kind", "split"}
MIN_KINDS = {"fact": 12, "multi": 6, "paraphrase": 8, "unanswerable": 30}
MIN_HARD = {"missing_number": 8, "missing_fact": 8, "missing_name": 4, "absent_entity": 6, "off_topic": 4}
MIN_TOTAL = 66
MIN_WORDS = 6
DOC_CHARS = (2500, 5000)


def collapse(text: str) -> str:
    """One space for each whitespace run, the matching rule the suite promises."""
    return re.sub(r"\s+", " ", text).strip()


def check_corpus(corpus: dict[str, str]) -> list[str]:
    """Each document: a `# Title` first line, `##` sections, a bulleted list, 2,500-5,000 characters."""
    errors = []
    for name, text in corpus.items():
        lines = text.splitlines()
        if not lines or not lines[0].startswith("# "):
            errors.append(f"{name}: first line is not a '# Title'")
        if not any(line.startswith("## ") for line in lines):
            errors.append(f"{name}: no '##' section heading")
        if not any(line.startswith("- ") for line in lines):
            errors.append(f"{name}: no bulleted list")
        if not DOC_CHARS[0] <= len(text) <= DOC_CHARS[1]:
            errors.append(f"{name}: {len(text)} characters, outside {DOC_CHARS}")
    return errors


def check_entry(row: dict, corpus: dict[str, str]) -> list[str]:
    """Keys, types and evidence of one suite line."""
    qid = row.get("id", "?")
    wanted = KEYS | ({"hard"} if row.get("answerable") is False else set())
    if set(row) != wanted:
        return [f"{qid}: keys {sorted(row)} != {sorted(wanted)}"]
    errors = []
    if not isinstance(row["answerable"], bool) or row["split"] not in ("dev", "test"):
        errors.append(f"{qid}: answerable must be a bool and split 'dev' or 'test'")
    if row["answerable"]:
        if row["kind"] == "unanswerable" or not row["reference"] or not row["evidence"]:
            errors.append(f"{qid}: an answerable question needs a kind, a reference and evidence")
        errors += [f"{qid}: {problem}" for excerpt in row["evidence"] for problem in check_excerpt(excerpt, corpus)]
    elif row["kind"] != "unanswerable" or row["reference"] != "" or row["evidence"] != [] \
            or row["hard"] not in MIN_HARD:
        errors.append(f"{qid}: an unanswerable question needs kind 'unanswerable', empty reference and evidence, "
                      f"and a known 'hard'")
    return errors


def check_excerpt(excerpt: str, corpus: dict[str, str]) -> list[str]:
    """An excerpt is long enough, free of markdown markers and found in exactly one document."""
    text = collapse(excerpt)
    errors = []
    if len(text.split()) < MIN_WORDS:
        errors.append(f"excerpt under {MIN_WORDS} words: {text!r}")
    if "#" in text or re.search(r"(^|\s)[-*] ", text):
        errors.append(f"excerpt holds a heading or list marker: {text!r}")
    hits = [name for name, doc in corpus.items() if text in collapse(doc)]
    if len(hits) != 1:
        errors.append(f"excerpt found in {len(hits)} corpus files {hits}: {text!r}")
    return errors


def id_prefix(rows: list[dict]) -> str:
    """The letters before the number of the first id, so each suite keeps its own id series."""
    found = re.match(r"[a-z]+", str(rows[0].get("id", ""))) if rows else None
    return found.group() if found else "?"


def check_suite(rows: list[dict]) -> list[str]:
    """Ids, counts and the dev/test alternation across the whole suite."""
    errors = []
    ids = [row.get("id") for row in rows]
    prefix = id_prefix(rows)
    if ids != [f"{prefix}{n:02d}" for n in range(1, len(rows) + 1)]:
        errors.append(f"ids are not unique and consecutive {prefix}01..")
    if len(rows) < MIN_TOTAL:
        errors.append(f"{len(rows)} questions, fewer than {MIN_TOTAL}")
    kinds = Counter(row.get("kind") for row in rows)
    hards = Counter(row.get("hard") for row in rows if "hard" in row)
    errors += [f"kind {k}: {kinds[k]} < {n}" for k, n in MIN_KINDS.items() if kinds[k] < n]
    errors += [f"hard {h}: {hards[h]} < {n}" for h, n in MIN_HARD.items() if hards[h] < n]
    for group, key in ((MIN_KINDS, "kind"), (MIN_HARD, "hard")):
        for name in group:
            splits = [row.get("split") for row in rows if row.get(key) == name]
            if key == "kind" and splits != [("dev", "test")[i % 2] for i in range(len(splits))]:
                errors.append(f"kind {name}: splits do not alternate dev/test in id order")
            if abs(splits.count("dev") - splits.count("test")) > 1:
                errors.append(f"{key} {name}: {splits.count('dev')} dev vs {splits.count('test')} test")
    return errors


def summary(rows: list[dict], corpus: dict[str, str]) -> list[str]:
    """Counts to paste into the README."""
    lines = [f"corpus: {len(corpus)} files, " + ", ".join(f"{n} {len(t)}" for n, t in corpus.items())]
    count = Counter((row["kind"], row.get("hard", ""), row["split"]) for row in rows)
    for kind, hard in sorted({(k, h) for k, h, _ in count}):
        label = f"{kind}/{hard}" if hard else kind
        lines.append(f"{label:<28} dev {count[kind, hard, 'dev']:>2}  test {count[kind, hard, 'test']:>2}")
    dev = sum(row["split"] == "dev" for row in rows)
    excerpts = sum(len(row["evidence"]) for row in rows)
    lines.append(f"total {len(rows)} questions: dev {dev}, test {len(rows) - dev}; {excerpts} evidence excerpts")
    return lines


def main() -> int:
    """Print the summary and every problem; exit 1 if there is any."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    corpus = {path.name: path.read_text("utf-8") for path in sorted((folder / "corpus").glob("*.md"))}
    rows = [json.loads(line) for line in (folder / "suite.jsonl").read_text("utf-8").splitlines() if line.strip()]
    errors = check_corpus(corpus) + check_suite(rows)
    errors += [error for row in rows for error in check_entry(row, corpus)]
    print("\n".join(errors if errors else summary(rows, corpus)))
    print(f"FAILED: {len(errors)} problem(s)" if errors else "OK: all checks passed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
