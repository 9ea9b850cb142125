"""A TaxDocument as PDF bytes: the Jinja2 template `templates/invoice.html` drawn by fpdf2.

fpdf2 is pure Python (wheels only, no system libraries) and its HTML subset is enough for a
document made of tables. Text goes through HarfBuzz (`set_text_shaping`), without which
Devanagari conjuncts and vowel signs come out as loose letters; Noto Sans carries Latin and ₹,
Noto Sans Devanagari is its fallback for Hindi, and fpdf2 embeds only the glyphs used, so a PDF
stays in the tens of kilobytes. The fonts ship in the package (`fonts/`, OFL).

The creation date is the document's issue time, so the same document gives the same bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fpdf import FPDF
from fpdf.enums import VAlign, XPos, YPos
from fpdf.fonts import TextStyle
from fpdf.html import HTML2FPDF
from markupsafe import Markup, escape

from hisaab.invoicing.rendering.document import TaxDocument

__all__ = ["render_pdf"]

_HERE = Path(__file__).parent
_FONTS = _HERE / "fonts"
_FAMILY = "notosans"
_FALLBACK = "notodevanagari"
_BODY_PT = 8.5
_LOGO_HEIGHT_PT = 42  # about 15 mm
_TABLE_GAP_MM = 1.5
_BETWEEN_TAGS = re.compile(r">\s+<")
_DEVANAGARI = re.compile("[\u0900-\u097f\ua8e0-\ua8ff]")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Column:
    title: str
    width: float
    align: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = _cell
    env.globals["zip"] = zip
    return env


def _cell(value: str | Sequence[str] | None) -> Markup:
    """One table cell: fpdf2 takes a single text per cell, so lines are joined by a newline
    character reference, which the HTML parser turns into a line break inside the cell."""
    if value is None:
        return Markup("")
    lines = [value] if isinstance(value, str) else [v for v in value if v]
    return Markup("&#10;").join(escape(line) for line in lines)


class _Html(HTML2FPDF):
    """fpdf2's HTML reader (pinned in the lock, so its internals are known) with two changes:

    - the line break it queues after every table waits for the next paragraph, so the breaks
      of tables that follow each other pile up into a hole before it; outside a paragraph a
      break is a small fixed gap, drawn at once;
    - `<table valign="top">` aligns its cells at the top (fpdf2 centres them and reads no
      valign), so a short column beside a long address starts level with it.
    """

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        valign = dict(attrs).get("valign")
        if tag == "table" and self.table is not None and valign:
            self.table._v_align = VAlign.coerce(valign.upper())

    def _ln(self, h: float | None = None) -> None:
        if self._paragraph:
            super()._ln(h)
        else:
            self.pdf.ln(_TABLE_GAP_MM if h is None else h)


class _NoText(int):
    """The text of a glyph that stands for no character of its own."""

    def __format__(self, spec: str) -> str:
        return ""


_NO_TEXT = _NoText(0)


def _map_cluster_glyphs(pdf: FPDF) -> None:
    """Give every glyph a text mapping, so Hindi copies and extracts as the words it shows.

    HarfBuzz turns a Devanagari cluster such as लि into several glyphs (the i-matra drawn before
    the consonant); fpdf2 gives the cluster's characters to the first glyph and leaves the
    others out of the ToUnicode map, so readers print their raw codes ("लि\\x13ए"). Mapped to
    an empty string (a zero-length ToUnicode entry, made by `_NoText` formatting as nothing)
    they add no text, and the cluster reads as its characters once.
    """
    for font in pdf.fonts.values():
        subset = getattr(font, "subset", None)
        if subset is None:
            continue
        for glyph, _ in subset.items():
            if glyph is not None and glyph.unicode == ():
                glyph.unicode = (_NO_TEXT,)


class _Pdf(FPDF):
    """FPDF with the page footer: document number and "Page n of N" on every page."""

    HTML2FPDF_CLASS = _Html

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = footer

    def _render_styled_text_line(self, *args: Any, **kwargs: Any) -> Any:
        """Set the current font on the page before a line that may begin in the fallback font.

        fpdf2 2.8.9 marks the current font as set on the page when a line begins with a
        fallback-font character, but writes it inside that line's `q … Q`, which forgets it:
        the next line in the current font then prints its glyph codes in whatever font the page
        had before (a Hindi name above a Latin address turned the address into garbage).
        Setting it outside, as fpdf2 does for any other line, keeps page state and belief equal.
        """
        if not self.current_font_is_set_on_page and self.current_font is not None and self.page:
            self._out(self._set_font_for_page(self.current_font, self.font_size_pt))
        return super()._render_styled_text_line(*args, **kwargs)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(_FAMILY, size=7)
        self.set_text_color(110)
        self.cell(
            0,
            4,
            self._footer_text.replace("{page}", str(self.page_no())),
            align="C",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def _columns(doc: TaxDocument) -> list[_Column]:
    """The line table's columns, in percent of the page width; the description takes the rest.

    A line's total with tax is left to the totals below: on A4 the columns rule 46 asks for
    (SAC, quantity, price, discount, taxable value, each tax's rate and amount) need the room.
    """
    labels = doc.labels
    columns = [_Column(labels.col_number, 4, "left"), _Column(labels.col_description, 0, "left")]
    if doc.gst:
        columns.append(_Column(labels.col_sac, 8, "left"))
    columns += [
        _Column(labels.col_quantity, 8, "right"),
        _Column(labels.col_unit_price, 13, "right"),
    ]
    if doc.show_discount:
        columns.append(_Column(labels.col_discount, 11, "right"))
    columns.append(_Column(labels.col_taxable_value, 14, "right"))
    if doc.show_tax:
        columns.append(_Column(labels.col_tax, 21, "right"))
    rest = 100 - sum(c.width for c in columns)
    return [c if c.width else _Column(c.title, rest, c.align) for c in columns]


def _rows(doc: TaxDocument) -> list[list[str | tuple[str, ...]]]:
    rows: list[list[str | tuple[str, ...]]] = []
    for line in doc.lines:
        row: list[str | tuple[str, ...]] = [line.position, (line.description, line.period or "")]
        if doc.gst:
            row.append(line.sac)
        row += [line.quantity, line.unit_price]
        if doc.show_discount:
            row.append(line.discount)
        row.append(line.taxable_value)
        if doc.show_tax:
            row.append(line.taxes)
        rows.append(row)
    return rows


def _html(doc: TaxDocument) -> str:
    party = doc.supplier
    supplier_lines = (*party.address, *party.tax_ids, party.location or "", party.email or "")
    recipient = doc.recipient
    recipient_lines = (
        recipient.name,
        *recipient.address,
        *recipient.tax_ids,
        recipient.location or "",
    )
    title_lines = (doc.subtitle or "", doc.copy_mark or "", doc.stamp or "")
    context: dict[str, Any] = {
        "doc": doc,
        "supplier_lines": supplier_lines,
        "recipient_lines": recipient_lines,
        "title_lines": title_lines,
        "columns": _columns(doc),
        "rows": _rows(doc),
        "logo_height": _LOGO_HEIGHT_PT,
    }
    html = _environment().get_template("invoice.html").render(context)
    # Whitespace between tags would be drawn as empty lines; the layout is all in the tags.
    return _BETWEEN_TAGS.sub("><", html)


def _new_pdf(doc: TaxDocument, *, devanagari: bool) -> _Pdf:
    footer = f"{doc.title} {doc.number} · " + doc.labels.page.format(page="{page}", pages="{nb}")
    pdf = _Pdf(footer)
    pdf.set_margins(14, 12, 14)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font(_FAMILY, "", _FONTS / "NotoSans-Regular.ttf")
    pdf.add_font(_FAMILY, "B", _FONTS / "NotoSans-Bold.ttf")
    if devanagari:  # parsing two more fonts is a third of the time of a PDF without Hindi
        pdf.add_font(_FALLBACK, "", _FONTS / "NotoSansDevanagari-Regular.ttf")
        pdf.add_font(_FALLBACK, "B", _FONTS / "NotoSansDevanagari-Bold.ttf")
        pdf.set_fallback_fonts([_FALLBACK], exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_creation_date(doc.issued_at)
    pdf.set_title(doc.meta.get("title", doc.title))
    pdf.set_author(doc.meta.get("author", doc.supplier.name))
    pdf.set_creator("Hisaab")
    pdf.set_lang(doc.locale.replace("_", "-"))
    pdf.add_page()
    pdf.set_font(_FAMILY, size=_BODY_PT)
    return pdf


_TAG_STYLES = {
    "p": TextStyle(font_family=_FAMILY, t_margin=1.5, b_margin=0),
}


def _draw(doc: TaxDocument) -> bytes:
    html = _html(doc)
    footer = doc.title + doc.labels.page
    pdf = _new_pdf(doc, devanagari=bool(_DEVANAGARI.search(html + footer)))
    pdf.write_html(
        html,
        font_family=_FAMILY,
        table_line_separators=True,
        tag_styles=_TAG_STYLES,
        warn_on_tags_not_matching=False,
    )
    _map_cluster_glyphs(pdf)
    return bytes(pdf.output())


def render_pdf(document: TaxDocument) -> bytes:
    """The PDF of `document`. A logo fpdf2 cannot read is left out rather than failing the
    invoice: the tenant rules check logos on upload, this guards older or odd files."""
    try:
        return _draw(document)
    except Exception:
        if document.logo is None:
            raise
        log.warning("invoice logo unreadable; rendering without it", exc_info=True)
        return _draw(replace(document, logo=None))
