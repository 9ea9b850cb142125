"""The PDF renderer on its own: text that comes back out as it went in (Hindi included), the
same bytes for the same document, page numbers on long invoices, and a bad logo left out."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace

from pypdf import PdfReader

from hisaab.invoicing.rendering.document import from_invoice
from hisaab.invoicing.rendering.pdf import render_pdf
from tests.invoicing.rendering import factory as f


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_hindi_text_extracts_as_written_around_latin_lines() -> None:
    """Two fpdf2 2.8.9 faults the renderer works around: glyphs of a Devanagari cluster
    without a text mapping (extracted as control characters), and the line after one that
    begins in Devanagari printed in the wrong font."""
    invoice = f.b2c_intra_state(name="आशा राव", locale="hi")
    [text] = _pages(render_pdf(from_invoice(invoice, f.GST_SELLER)))
    squashed = _squash(text)
    for words in (
        "आशा राव",
        "4th Floor, Prestige Tower",
        "100 Residency Road",
        "प्राप्तकर्ता के लिए मूल प्रति",
        "बीजक की तिथि31 जनवरी 2026",
        "क्या कर रिवर्स चार्ज के आधार पर देय है: नहीं",
        "अधिकृत हस्ताक्षरकर्ता",
    ):
        assert _squash(words) in squashed, words
    controls = [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"]
    assert controls == []


def test_the_same_document_gives_the_same_bytes() -> None:
    doc = from_invoice(f.b2b_inter_state(), f.GST_SELLER)
    assert render_pdf(doc) == render_pdf(doc)


def test_a_long_invoice_numbers_its_pages() -> None:
    lines = [
        f.line(100_000, [f.tax("IGST", "18.00", 100_000)], description=f"Seat {i}")
        for i in range(60)
    ]
    invoice = f.invoice(lines, f.customer(gstin=f.MH_GSTIN), place="27-Maharashtra")
    pages = _pages(render_pdf(from_invoice(invoice, f.GST_SELLER)))
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert f"Tax Invoice ACME/2526/7 · Page {number} of {len(pages)}" in text
        assert "Taxable value" in text, "the column headings repeat on every page"
    assert _squash("Rupees Seventy Thousand Eight Hundred Only") in _squash(pages[-1])


def test_an_unreadable_logo_is_left_out() -> None:
    seller = replace(f.GST_SELLER, logo="data:image/png;base64,bm90IGFuIGltYWdl")
    [text] = _pages(render_pdf(from_invoice(f.b2b_inter_state(), seller)))
    assert "Tax Invoice" in text


def test_text_outside_the_fonts_does_not_fail_the_document() -> None:
    invoice = f.b2b_inter_state(name="株式会社 <b>Tanaka</b> & 😀")
    [text] = _pages(render_pdf(from_invoice(invoice, f.GST_SELLER)))
    assert "<b>Tanaka</b> &" in text, "names are text, never markup"
