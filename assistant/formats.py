"""PDF, DOCX, HTML and EPUB -> plain paragraphs with title, author and page offsets (parsers are an optional extra)."""

from __future__ import annotations

import codecs
import importlib
import re
import statistics
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .text import normalise

SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".epub")
INSTALL_HINT = "pip install 'analysis-assistant[formats]'"
ZIP_EXPANSION = 20  # a DOCX/EPUB may unpack to at most this many times the file size limit

_SPACES = re.compile(r"[^\S\n]+")
_BULLET = re.compile(r"^(?:[•◦▪●○■□‣⁃–—*-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s")
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.IGNORECASE)
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
                            "\u00ad": "", "\u00a0": " ", "\u200b": "", "\ufeff": ""})
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_JUNK_TITLE = re.compile(r"^(?:microsoft word - |untitled\b)|\.(?:docx?|pdf|tex|indd|rtf|odt)$", re.IGNORECASE)


class FormatError(ValueError):
    """A file this format's reader cannot use; one line, without the file name (the caller adds it)."""


@dataclass(frozen=True, kw_only=True)
class Extracted:
    """Normalised text (paragraphs separated by blank lines), the file's own metadata and page start offsets."""

    text: str
    title: str = ""
    author: str = ""
    page_starts: tuple[int, ...] = ()


def extract(path: Path, *, max_bytes: int) -> Extracted:
    """Read one PDF/DOCX/HTML/EPUB file; any parser failure becomes a one-line FormatError."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise FormatError(f"unsupported file type {suffix!r}")
    if suffix in (".docx", ".epub"):
        _check_zip(path, suffix, max_bytes * ZIP_EXPANSION)
    try:
        return reader(path)
    except FormatError:
        raise
    except Exception as exc:  # each parser raises its own zoo of types for damaged files
        raise FormatError(f"not a readable {suffix[1:].upper()} file ({_one_line(exc)})") from None


def _require(module: str, package: str, suffix: str):
    """Import an optional parser, or say in one line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FormatError(f"reading {suffix} needs {package}: {INSTALL_HINT}") from None


def _one_line(exc: Exception) -> str:
    """An exception as a short single line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _check_zip(path: Path, suffix: str, limit: int) -> None:
    """Refuse damaged archives and ones that would unpack to far more than the size limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"not a readable {suffix[1:].upper()} file ({_one_line(exc)})") from None
    if size > limit:
        raise FormatError(f"unpacks to {size / 1048576:.0f} MB, over {ZIP_EXPANSION}x the file size limit")


def _clean(value) -> str:
    """A metadata value as one trimmed line ("" when absent)."""
    return " ".join(str(value or "").split())


def _title(value) -> str:
    """A metadata title, dropping the placeholders tools write ("Microsoft Word - x.docx", "Untitled")."""
    title = _clean(value)
    return "" if _JUNK_TITLE.search(title) else title


def _paragraphs(blocks: list[str]) -> str:
    """Blocks of text as paragraphs (a blank line inside a block splits it), spaces collapsed, blank lines between."""
    cleaned = []
    for paragraph in (p for block in blocks for p in re.split(r"\n\s*\n", block.translate(_LIGATURES))):
        lines = [_SPACES.sub(" ", line).strip() for line in paragraph.split("\n")]
        if any(lines):
            cleaned.append("\n".join(line for line in lines if line))
    return normalise("\n\n".join(cleaned))


# PDF -------------------------------------------------------------------------------------------------------------

def read_pdf(path: Path) -> Extracted:
    """The text layer page by page, hard-wrapped lines joined into paragraphs, running headers dropped."""
    import logging

    pypdf = _require("pypdf", "pypdf", ".pdf")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged-but-readable files would print warnings
    reader = pypdf.PdfReader(path)
    _unlock(reader, pypdf)
    pages = _drop_running_lines([_pdf_lines(page) for page in reader.pages])
    gap, width = _typical_line(pages)
    text, starts = _join_pages([_paragraphs(_pdf_paragraphs(lines, gap, width)) for lines in pages])
    if not text:
        raise FormatError("no text layer: run OCR first")
    meta = reader.metadata or {}
    return Extracted(text=text, title=_title(getattr(meta, "title", "")),
                     author=_clean(getattr(meta, "author", "")), page_starts=starts)


def _unlock(reader, pypdf) -> None:
    """Open PDFs that are encrypted with an empty user password (restrictions only); refuse the others."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except pypdf.errors.DependencyError:
        raise FormatError(f"reading this encrypted PDF needs cryptography: {INSTALL_HINT}") from None
    if not opened:
        raise FormatError("encrypted PDF (needs a password): save an unencrypted copy first")


class _LineCollector:
    """Receives pypdf's text fragments and keeps each line with its vertical position on the page."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, float | None]] = []
        self.parts: list[str] = []
        self.y: float | None = None

    def __call__(self, fragment: str, cm, tm, font, size) -> None:
        for i, piece in enumerate(fragment.split("\n")):
            if i:
                self.close()
            if piece.strip() and self.y is None:
                self.y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            self.parts.append(piece)

    def close(self) -> list[tuple[str, float | None]]:
        """End the current line (a blank one is kept as a paragraph break)."""
        self.lines.append((_SPACES.sub(" ", "".join(self.parts)).strip(), self.y))
        self.parts, self.y = [], None
        return self.lines


def _pdf_lines(page) -> list[tuple[str, float | None]]:
    """A page as (line text, y) pairs in the order pypdf reads them."""
    collector = _LineCollector()
    page.extract_text(visitor_text=collector)
    lines = collector.close()
    while lines and not lines[-1][0]:
        lines.pop()
    return lines


def _drop_running_lines(pages: list[list[tuple[str, float | None]]]) -> list[list[tuple[str, float | None]]]:
    """Remove page numbers and the headers/footers repeated at the top or bottom of most pages."""
    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.lower())

    def edges(lines):
        filled = [i for i, (text, _) in enumerate(lines) if text]
        return set(filled[:2] + filled[-2:])

    counts = Counter(key(lines[i][0]) for lines in pages for i in edges(lines)) if len(pages) >= 3 else Counter()
    repeated = {k for k, n in counts.items() if n >= 3}  # running headers repeat per chapter, not per book
    out = []
    for lines in pages:
        drop = {i for i in edges(lines) if key(lines[i][0]) in repeated or _PAGE_NUMBER.match(lines[i][0])}
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def _typical_line(pages: list[list[tuple[str, float | None]]]) -> tuple[float, float]:
    """The document's usual line spacing and line length, the yardsticks for paragraph breaks."""
    gaps, widths = [], []
    for lines in pages:
        for (a, ya), (b, yb) in zip(lines, lines[1:], strict=False):
            if a and b and ya is not None and yb is not None and 0 < ya - yb < 100:
                gaps.append(ya - yb)
        widths += [len(text) for text, _ in lines if text]
    return (statistics.median(gaps) if gaps else 0.0), (statistics.median(widths) if widths else 0.0)


def _pdf_paragraphs(lines: list[tuple[str, float | None]], gap: float, width: float) -> list[str]:
    """Join hard-wrapped lines; break at blank lines, wide gaps, jumps up (columns), short lines and bullets."""
    paragraphs, current, previous = [], "", None
    for text, y in lines:
        if current and (not text or _breaks(previous, (text, y), gap, width)):
            paragraphs.append(current)
            current = ""
        if text:
            current = _join(current, text)
        previous = (text, y)
    return paragraphs + [current] if current else paragraphs


def _breaks(previous, line, gap: float, width: float) -> bool:
    """Whether `line` starts a new paragraph after `previous`."""
    (before, y0), (text, y1) = previous, line
    if _BULLET.match(text) or (width and len(before) < 0.6 * width):
        return True
    if gap and y0 is not None and y1 is not None:
        return y0 - y1 > 1.35 * gap or y1 - y0 > 0.5 * gap
    return False


def _join(current: str, line: str) -> str:
    """Append a wrapped line: a word hyphenated across the break is rejoined, otherwise a space."""
    if not current:
        return line
    if current.endswith("-") and current[-2:-1].islower() and line[:1].islower():
        return current[:-1] + line
    return current + " " + line


def _join_pages(texts: list[str]) -> tuple[str, tuple[int, ...]]:
    """One text with a paragraph break between pages, and the offset where each page starts."""
    parts, starts, position = [], [], 0
    for text in texts:
        if text and parts:
            parts.append("\n\n")
            position += 2
        starts.append(position)
        if text:
            parts.append(text)
            position += len(text)
    return "".join(parts), tuple(starts)


# DOCX ------------------------------------------------------------------------------------------------------------

def read_docx(path: Path) -> Extracted:
    """Paragraphs, headings and table rows in document order; title and author from the core properties."""
    docx = _require("docx", "python-docx", ".docx")
    document = docx.Document(str(path))
    blocks = []
    for block in document.iter_inner_content():
        blocks += _table_rows(block) if hasattr(block, "rows") else [block.text]
    props = document.core_properties
    return Extracted(text=_paragraphs(blocks), title=_title(props.title), author=_clean(props.author))


def _table_rows(table) -> list[str]:
    """Each table row as one line of its cells (merged cells, which repeat, only once)."""
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        rows.append(" | ".join(c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])))
    return rows


# HTML ------------------------------------------------------------------------------------------------------------

_DROP_TAGS = {"script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg", "canvas",
              "button", "select", "textarea", "input", "dialog", "object", "embed", "footer", "head", "menu"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog", "menu"}
_DROP_TOKENS = {"cookie", "cookies", "consent", "gdpr", "banner", "cmp", "newsletter", "subscribe", "share",
                "sharing", "social", "breadcrumb", "breadcrumbs", "sidebar", "navbar", "nav", "menu", "popup",
                "modal", "advert", "advertisement", "ads", "promo", "related", "comments", "skip", "footer"}
_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "section",
               "article", "main", "body", "table", "tr", "td", "th", "dl", "dt", "dd", "figure", "figcaption",
               "address", "details", "summary", "hr", "caption", "header"}


def read_html(path: Path) -> Extracted:
    """The page's main text (navigation, scripts, banners and footers dropped); title and author from meta."""
    _require("lxml.html", "lxml", path.suffix.lower())
    tree = parse_html(path.read_bytes())
    title, author = _html_meta(tree)
    text = html_text(tree)
    if not text:
        raise FormatError("no main text found (only navigation, scripts or boilerplate)")
    return Extracted(text=text, title=title, author=author)


def parse_html(raw: bytes):
    """An lxml tree, decoded with the charset the page declares (else UTF-8, else Windows-1252)."""
    from lxml import etree, html

    text = _XML_DECLARATION.sub("", raw.decode(_charset(raw), errors="replace"), count=1)
    try:
        return html.document_fromstring(text, parser=html.HTMLParser(remove_comments=True, remove_pis=True))
    except etree.ParserError:  # nothing but whitespace
        return html.document_fromstring("<html><body></body></html>")


def _charset(raw: bytes) -> str:
    """The encoding from a BOM, <meta charset> or XML declaration, else by whether the bytes are UTF-8."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return name
    found = re.search(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", raw[:4096])
    if found:
        try:
            name = codecs.lookup(found.group(1).decode("ascii")).name
            return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name  # as browsers read them
        except LookupError:
            pass
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _html_meta(tree) -> tuple[str, str]:
    """Title from og:title or <title>; author from <meta name=author> (or dc.creator)."""
    def meta(*names: str) -> str:
        for el in tree.iter("meta"):
            key = (el.get("property") or el.get("name") or "").strip().lower()
            if key in names and _clean(el.get("content")):
                return _clean(el.get("content"))
        return ""

    title_el = next(tree.iter("title"), None)
    title = meta("og:title") or _clean(title_el.text_content() if title_el is not None else "")
    return _title(title), meta("author", "dc.creator", "dcterms.creator")


def html_text(tree) -> str:
    """Main text of a parsed page or chapter as paragraphs: headings, paragraphs, list items, table cells."""
    _strip_boilerplate(tree)
    root = _main_root(tree)
    return _paragraphs(_blocks(root))


def _strip_boilerplate(tree) -> None:
    """Drop scripts, navigation, forms, footers, hidden parts and cookie/consent banners."""
    body = next(tree.iter("body"), tree)
    total = len(body.text_content()) or 1
    doomed = [el for el in tree.iter() if isinstance(el.tag, str) and _is_boilerplate(el, total)]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def _is_boilerplate(el, total: int) -> bool:
    """Chrome around the content, by tag, ARIA role, hidden state or id/class words."""
    tag = el.tag.lower()
    if tag in _DROP_TAGS or (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    if tag == "header" and not any(True for _ in el.iterancestors("article", "main")):
        return True
    if el.get("hidden") is not None or el.get("aria-hidden") == "true" or "display:none" in (
            el.get("style") or "").replace(" ", ""):
        return True
    tokens = set(re.split(r"[\s_-]+", f"{el.get('id') or ''} {el.get('class') or ''}".lower()))
    return bool(tokens & _DROP_TOKENS) and tag not in ("body", "html", "main", "article") and (
        len(el.text_content()) < total / 2)


def _main_root(tree):
    """The <main> element (or role=main), else the only <article>, else <body>."""
    mains = [el for el in tree.iter() if el.tag == "main" or el.get("role") == "main"]
    articles = list(tree.iter("article"))
    for candidate in (mains[:1] if len(mains) == 1 else []) + (articles if len(articles) == 1 else []):
        if candidate.text_content().strip():
            return candidate
    return next(tree.iter("body"), tree)


def _blocks(root) -> list[str]:
    """Text of each block element, inline markup flattened; <br> and the lines of <pre> kept as line breaks."""
    from lxml import etree

    blocks, current, pre = [], [], 0

    def flush() -> None:
        blocks.append("".join(current))
        current.clear()

    def inline(text: str | None) -> str:
        return (text or "") if pre else (text or "").replace("\n", " ")

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _BLOCK_TAGS:
            flush()
        pre += (tag == "pre") * (1 if event == "start" else -1)
        if event == "start":
            current.append("\n" if tag == "br" else inline(el.text))
        elif el is not root:
            current.append(inline(el.tail))
    flush()
    return blocks


# EPUB ------------------------------------------------------------------------------------------------------------

def read_epub(path: Path) -> Extracted:
    """Chapters in spine (reading) order through the HTML extractor; title and authors from the DC metadata."""
    epub = _require("ebooklib.epub", "ebooklib", ".epub")
    _require("lxml.html", "lxml", ".epub")
    book = epub.read_epub(str(path))
    chapters = []
    for idref, linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is not None and linear != "no" and item.media_type in ("application/xhtml+xml", "text/html"):
            chapters.append(html_text(parse_html(item.get_content())))
    title = next((v for v, _ in book.get_metadata("DC", "title") if _clean(v)), "")
    authors = [_clean(v) for v, _ in book.get_metadata("DC", "creator") if _clean(v)]
    return Extracted(text=normalise("\n\n".join(c for c in chapters if c)), title=_title(title),
                     author=", ".join(authors))


_READERS: dict[str, Callable[[Path], Extracted]] = {
    ".pdf": read_pdf, ".docx": read_docx, ".html": read_html, ".htm": read_html, ".epub": read_epub,
}
