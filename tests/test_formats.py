"""PDF, DOCX, HTML and EPUB sources: fixtures built here, ingested for real, cited spans and pages checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant.chain import build_assistant
from assistant.chunking import chunk_document
from assistant.documents import DocumentError, discover, load
from assistant.ingest import ingest
from assistant.retrieval import document_to_passage
from assistant.settings import Settings

PDF_PAGES = [
    ("Introduction", "Central Asia shares its great rivers across five states. The Amu Darya and the Syr Darya carry "
     "meltwater from the Pamir and Tian Shan mountains towards the Aral Sea basin, and disputes over them have "
     "shaped relations between the new republics since 1991."),
    ("Upstream and downstream", "The Toktogul reservoir on the Naryn river stores about nineteen cubic kilometres "
     "of water. Kyrgyzstan releases water from the reservoir in winter to generate electricity for its cities, "
     "while Uzbekistan needs the same water in summer to irrigate its cotton fields. This seasonal conflict has no "
     "simple technical fix."),
    ("The Rogun dam", "Tajikistan resumed building the Rogun dam on the Vakhsh river in 2016. When it is finished "
     "the dam will be 335 metres tall, the tallest in the world, and its turbines will export electricity to "
     "Afghanistan and Pakistan over new transmission lines."),
]
HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Water wars | Example Site</title>
<meta property="og:title" content="Water wars in the Fergana valley">
<meta name="author" content="Dana Field">
<style>body { color: red }</style><script>var banner = "Accept all cookies to continue";</script></head>
<body class="page has-sidebar">
<header><a href="/">Example Site</a><nav><ul><li><a href="/">Home</a></li><li>World news</li></ul></nav></header>
<div id="cookie-consent" class="banner">We use cookies to improve your experience. <button>Accept all</button></div>
<main><article>
<header><h1>Water wars in the Fergana valley</h1></header>
<p>The Fergana valley is shared by Uzbekistan, Kyrgyzstan and Tajikistan. Its rivers feed <em>cotton</em>
fields and fast-growing cities.</p>
<ul><li>Border canals were dug in Soviet times.</li><li>Clashes broke out in 2021 over a water intake.</li></ul>
<div class="share-buttons">Share on Twitter. Share on Facebook.</div>
<p>Negotiators met in Osh and Khujand to agree on new water quotas for the valley.</p>
<footer>Tags: water, Central Asia</footer>
</article></main>
<aside>Most read: ten summer recipes</aside>
<footer>&copy; 2024 Example Site. All rights reserved.</footer>
</body></html>"""
HTML_WITHOUT_MAIN = """<html><head><title>Notes on the Naryn cascade</title></head><body>
<div class="site-header"><div class="navbar">Home | World | Opinion</div></div>
<nav>Home World news</nav>
<div class="cookie-notice" role="dialog">We use cookies. Accept all</div>
<div id="content"><h2>Notes on the Naryn cascade</h2>
<p>Five hydropower stations line the Naryn river downstream of Toktogul.</p></div>
<div class="sidebar"><h3>Most read</h3><p>Ten summer recipes</p></div>
<div hidden>Share on Twitter</div>
<div class="footer">Tags: water. All rights reserved.</div>
<script>document.write("Accept all cookies")</script>
</body></html>"""
BOILERPLATE = ["cookies", "Accept all", "Home", "World news", "Share on", "recipes", "All rights reserved", "Tags:"]


def make_pdf(path: Path, pages=PDF_PAGES, *, title="Water Politics in Central Asia", author="A. Researcher") -> Path:
    """A text PDF with a heading and a hard-wrapped paragraph per page, and a page number in the footer."""
    from fpdf import FPDF

    class Numbered(FPDF):
        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 10, f"Page {self.page_no()}", align="C")

    pdf = Numbered()
    pdf.set_title(title)
    pdf.set_author(author)
    for heading, body in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(120, 6, body, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def make_scanned_pdf(path: Path) -> Path:
    """A PDF with only drawings on its page, as a scan without OCR has."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 120, 80, style="F")
    pdf.output(str(path))
    return path


def encrypt_pdf(source: Path, target: Path, *, user_password: str) -> Path:
    """An AES-encrypted copy (an empty user password only restricts permissions)."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    writer.write(str(target))
    return target


def make_docx(path: Path) -> Path:
    """A Word file with core properties, a heading, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Caspian Shipping Report"
    document.core_properties.author = "B. Analyst"
    document.add_heading("Ports of the Caspian", level=1)
    document.add_paragraph("The port of Aktau handles most of Kazakhstan's Caspian freight. In 2022 its container "
                           "traffic grew by a third because shippers avoided the routes through Russia.")
    table = document.add_table(rows=2, cols=2)
    for row, (port, country) in enumerate([("Aktau", "Kazakhstan"), ("Baku", "Azerbaijan")]):
        table.cell(row, 0).text, table.cell(row, 1).text = port, country
    document.add_paragraph("Baku remains the main hub for ferries crossing to Turkmenbashi.")
    document.save(str(path))
    return path


def make_epub(path: Path) -> Path:
    """An EPUB whose spine order (first, then second chapter) differs from its file-name order."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("steppe-journeys")
    book.set_title("Steppe Journeys")
    book.set_language("en")
    book.add_author("Jane Doe")
    second = epub.EpubHtml(title="Bukhara", file_name="a_second.xhtml", lang="en")
    second.content = ("<h1>Chapter Two</h1><p>The caravan reached Bukhara after forty days. Merchants traded silk "
                      "for horses in the covered bazaars.</p>")
    first = epub.EpubHtml(title="Kashgar", file_name="b_first.xhtml", lang="en")
    first.content = ("<h1>Chapter One</h1><p>The journey began in Kashgar in early spring. The travellers crossed "
                     "the Torugart pass on foot.</p>")
    for chapter in (second, first):
        book.add_item(chapter)
    book.toc = (first, second)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", first, second]
    epub.write_epub(str(path), book)
    return path


def make_good_files(folder: Path) -> dict[str, Path]:
    """One good source per format, plus a markdown note."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fergana.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "notes.md").write_text("# Field notes\n\nThe Aral Sea lost most of its water after 1960.\n")
    files = {"pdf": make_pdf(folder / "water.pdf"), "docx": make_docx(folder / "shipping.docx"),
             "html": folder / "fergana.html", "epub": make_epub(folder / "steppe.epub"), "md": folder / "notes.md"}
    files["restricted"] = encrypt_pdf(make_pdf(folder / "plain.pdf", PDF_PAGES[:1], title="Permissions only"),
                                      folder / "restricted.pdf", user_password="")
    (folder / "plain.pdf").unlink()
    return files


def make_bad_files(folder: Path) -> dict[str, str]:
    """One file per kind of bad input, with the words its one-line error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    encrypt_pdf(make_pdf(folder / "source.pdf"), folder / "locked.pdf", user_password="secret")
    (folder / "source.pdf").unlink()
    make_scanned_pdf(folder / "scan.pdf")
    garbage = bytes(range(256)) * 8
    (folder / "broken.docx").write_bytes(garbage)
    (folder / "broken.epub").write_bytes(garbage)
    (folder / "menu-only.html").write_text("<html><body><nav><a href='/'>Home</a></nav><script>x()</script>"
                                           "<footer>Contact us</footer></body></html>", encoding="utf-8")
    (folder / "huge.txt").write_text("A long line of text. " * 12000, encoding="utf-8")
    (folder / "data.xyz").write_text("not a format we read", encoding="utf-8")
    return {"locked.pdf": "encrypted PDF (needs a password)", "scan.pdf": "no text layer: run OCR first",
            "broken.docx": "not a readable DOCX file", "broken.epub": "not a readable EPUB file",
            "menu-only.html": "no main text", "huge.txt": "over the 0.2 MB file size limit",
            "data.xyz": "unsupported file type '.xyz'"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, embeddings):
    """All good fixtures ingested once into a temp store, with the assistant over them."""
    root = tmp_path_factory.mktemp("formats")
    files = make_good_files(root / "sources")
    settings = Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=root / "sources")
    assistant = build_assistant(settings, embeddings=embeddings)
    report = ingest([root / "sources"], store=assistant.store, embeddings=embeddings)
    assert not report.errors and len(report.added) == len(files)
    return assistant, files


def _cited(assistant, question: str, path: Path, words: str):
    """Ask; check every citation's span against the loaded document; return the one quoting `words`."""
    answer = assistant.ask(question)
    assert not answer.refused, answer.text
    doc = load(path, root=assistant.settings.knowledge_dir)
    for citation in answer.citations:
        if citation.doc_id == doc.doc_id:
            assert doc.text[citation.start:citation.end] == citation.text
            assert all(citation.start <= a < b <= citation.end for a, b in citation.sentences)
    quoting = [c for c in answer.citations if c.doc_id == doc.doc_id and words in c.text]
    assert quoting, [c.text for c in answer.citations]
    return quoting[0], doc


@pytest.mark.parametrize(("question", "page", "words"), [
    ("When does Uzbekistan need the water of the Toktogul reservoir?", 2, "irrigate its cotton fields"),
    ("How tall will the Rogun dam be when it is finished?", 3, "335 metres tall"),
])
def test_pdf_citation_carries_its_page_and_exact_span(corpus, question, page, words):
    assistant, files = corpus
    citation, doc = _cited(assistant, question, files["pdf"], words)
    assert citation.page == page and citation.to_json()["page"] == page
    assert doc.page_starts[page - 1] <= citation.start < (doc.page_starts + (len(doc.text),))[page]


def test_langchain_documents_from_the_retriever_carry_the_page(corpus):
    assistant, _ = corpus
    docs = assistant.retriever.invoke("How tall will the Rogun dam be?")
    rogun = next(d for d in docs if "335 metres" in d.page_content)
    assert rogun.metadata["page"] == 3 and document_to_passage(rogun).chunk.page == 3


def test_pdf_text_joins_wrapped_lines_drops_page_numbers_and_keeps_metadata(corpus):
    _, files = corpus
    doc = load(files["pdf"])
    assert (doc.title, doc.author) == ("Water Politics in Central Asia", "A. Researcher")
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    for start, (heading, body) in zip(doc.page_starts, PDF_PAGES, strict=True):
        assert doc.text[start:].startswith(f"{heading}\n\n{body}")
    assert "Page 2" not in doc.text and "Page 3" not in doc.text
    chunks = chunk_document(doc, size=200, overlap=0)
    ends = doc.page_starts[1:] + (len(doc.text),)
    assert {c.page for c in chunks} == {1, 2, 3}
    for chunk in chunks:
        assert doc.page_starts[chunk.page - 1] <= chunk.start < ends[chunk.page - 1]


def test_a_pdf_encrypted_only_against_changes_still_reads(corpus):
    assistant, files = corpus
    doc = load(files["restricted"])
    assert doc.title == "Permissions only" and PDF_PAGES[0][1] in doc.text


def test_docx_paragraphs_tables_and_core_properties(corpus):
    assistant, files = corpus
    citation, doc = _cited(assistant, "Why did container traffic at the port of Aktau grow in 2022?", files["docx"],
                           "avoided the routes through Russia")
    assert citation.page == 0
    assert "page" not in citation.to_json()
    assert (doc.title, doc.author) == ("Caspian Shipping Report", "B. Analyst")
    assert "Ports of the Caspian\n\n" in doc.text and "Aktau | Kazakhstan" in doc.text


def test_html_keeps_the_article_and_drops_page_chrome(corpus):
    assistant, files = corpus
    _cited(assistant, "Where did negotiators meet to agree on new water quotas?", files["html"], "Osh and Khujand")
    doc = load(files["html"])
    assert (doc.title, doc.author) == ("Water wars in the Fergana valley", "Dana Field")
    assert doc.text.startswith("Water wars in the Fergana valley\n\nThe Fergana valley is shared")
    assert "Border canals were dug in Soviet times." in doc.text.split("\n\n")
    leaked = [word for word in BOILERPLATE if word in doc.text]
    assert not leaked, leaked


def test_html_without_main_or_article_still_drops_page_chrome(tmp_path):
    path = tmp_path / "naryn.htm"
    path.write_text(HTML_WITHOUT_MAIN, encoding="utf-8")
    doc = load(path)
    assert doc.title == "Notes on the Naryn cascade"
    assert doc.text == ("Notes on the Naryn cascade\n\nFive hydropower stations line the Naryn river downstream "
                        "of Toktogul.")


def test_epub_chapters_follow_the_spine_with_dc_metadata(corpus):
    assistant, files = corpus
    _, doc = _cited(assistant, "Where did the journey begin?", files["epub"], "began in Kashgar")
    assert (doc.title, doc.author) == ("Steppe Journeys", "Jane Doe")
    assert doc.text.index("The journey began in Kashgar") < doc.text.index("The caravan reached Bukhara")
    assert "Chapter One" in doc.text and "Kashgar\nBukhara" not in doc.text  # the nav document adds nothing


def test_manifest_records_author_and_pages(corpus):
    assistant, files = corpus
    entries = {e["source"].rsplit("/", 1)[-1]: e for e in assistant.store.manifest.documents.values()}
    assert entries["water.pdf"]["pages"] == 3 and entries["water.pdf"]["author"] == "A. Researcher"
    assert not entries["shipping.docx"].get("pages") and entries["notes.md"]["title"] == "Field notes"


@pytest.mark.parametrize("name", ["locked.pdf", "scan.pdf", "broken.docx", "broken.epub", "menu-only.html",
                                  "huge.txt"])
def test_each_bad_file_is_one_line_naming_it(tmp_path, name):
    expected = make_bad_files(tmp_path)[name]
    with pytest.raises(DocumentError) as caught:
        load(tmp_path / name, max_mb=0.2)
    message = str(caught.value)
    assert expected in message and name in message and "\n" not in message


def test_an_unknown_extension_is_named_whether_given_or_found_in_a_folder(tmp_path):
    make_good_files(tmp_path)
    (tmp_path / "data.xyz").write_text("not a format we read", encoding="utf-8")
    (tmp_path / ".hidden.xyz").write_text("skipped silently", encoding="utf-8")
    for paths in ([tmp_path], [tmp_path / "data.xyz"]):
        files, errors = discover(paths)
        assert [str(e) for e in errors] == [f"{tmp_path / 'data.xyz'}: unsupported file type '.xyz'; supported: "
                                            ".txt, .md, .markdown, .pdf, .docx, .html, .htm, .epub"]
    assert {p.suffix for p in discover([tmp_path])[0]} == {".pdf", ".docx", ".html", ".epub", ".md"}


def test_a_missing_parser_gives_an_install_hint(tmp_path, monkeypatch):
    path = make_pdf(tmp_path / "water.pdf")
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf now raises ImportError
    with pytest.raises(DocumentError, match=r"water\.pdf: reading \.pdf needs pypdf: "
                                            r"pip install 'analysis-assistant\[formats\]'$"):
        load(path)


def test_an_archive_that_unpacks_far_beyond_the_limit_is_refused(tmp_path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (5 * 1048576))
    assert bomb.stat().st_size < 0.1 * 1048576
    with pytest.raises(DocumentError, match="bomb.docx: unpacks to 5 MB, over 20x the file size limit"):
        load(bomb, max_mb=0.1)


def _run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_KNOWLEDGE_DIR": str(data_dir),
                   **env}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=environment, timeout=180)


@pytest.mark.slow
def test_cli_mixed_folder_ingests_the_good_files_and_names_each_bad_one(tmp_path):
    folder = tmp_path / "mixed"
    good = make_good_files(folder)
    bad = make_bad_files(folder)
    result = _run(tmp_path / "data", "ingest", str(folder), ASSISTANT_MAX_FILE_MB="0.2")
    errors = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(errors) == len(bad), result.stderr
    for name, expected in bad.items():
        assert sum(name in line and expected in line for line in errors) == 1, (name, errors)
    assert f"{len(good)} added, 0 updated, 0 unchanged, {len(bad)} failed" in result.stdout

    asked = _run(tmp_path / "data", "ask", "--json", "How tall will the Rogun dam be when it is finished?")
    data = json.loads(asked.stdout)
    assert asked.returncode == 0 and data["citations"][0]["page"] == 3 and '"page": 3' in asked.stdout
    assert data["citations"][0]["source"].endswith("water.pdf")
    plain = _run(tmp_path / "data", "ask", "How tall will the Rogun dam be when it is finished?")
    assert "water.pdf, p. 3, paragraph" in plain.stdout


def test_uploads_take_binary_formats_and_name_the_bad_ones(tmp_path, embeddings):
    from assistant.render import answer_html
    from assistant.service import ChatService

    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=tmp_path / "empty")
    service = ChatService(assistant=build_assistant(settings, embeddings=embeddings))
    inbox = tmp_path / "inbox"
    good, bad = make_good_files(inbox), make_bad_files(inbox)
    done, errors = service.add_files([good["pdf"], good["docx"], inbox / "scan.pdf", inbox / "broken.epub"])
    assert [line.split(" (")[0] for line in done] == ["water.pdf: added", "shipping.docx: added"]
    assert errors == [f"scan.pdf: {bad['scan.pdf']}", f"broken.epub: {bad['broken.epub']} (File is not a zip file)"]
    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == ["shipping.docx", "water.pdf"]
    answer = service.assistant.ask("How tall will the Rogun dam be when it is finished?")
    assert "p. 3, paragraph" in answer_html(answer)
