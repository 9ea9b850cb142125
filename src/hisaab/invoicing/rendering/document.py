"""An invoice as the document a tax authority reads: every field rule 46 of the CGST Rules (or
art. 226 of the VAT Directive) asks for, already worded and formatted for the customer's locale.
Pure: an `InvoiceOut` and the seller's profile in, a frozen `TaxDocument` out; the PDF template
only lays it out, so everything a chartered accountant checks is testable without a PDF.

Where each rule 46 clause lands:

- (a) supplier's name, address, GSTIN → `supplier` (plus "State: Karnataka, Code: 29");
- (b) number, (c) date → `number`, `issue_date`, also the first two `details`;
- (d) a registered recipient's name, address, GSTIN → `recipient`; (e) an unregistered one's
  name, address and "name of State and its code" → `recipient.location`;
- (f)-(j) SAC, description, quantity, value, taxable value after discount → `lines`;
- (k), (l) rate and amount of each tax → each line's `taxes` and the `totals`;
- (m) place of supply with the state's name → the `details` row (`"29-Karnataka"`);
- (o) reverse charge → `reverse_charge` ("Whether tax is payable on reverse charge: No");
- (q) signature → `signature` ("For Acme …", "Authorised signatory");
- the export proviso's endorsement and the SEZ one → `notes`, verbatim from the tax engine.

VAT invoices (art. 226): both VAT numbers sit in the party blocks, and a reverse-charged supply
repeats them under the "Reverse charge" mention (art. 226(11a)) in `vat_reverse_charge`.

Locale: the customer's, if it is one of labels.LANGUAGES, else English. A locale without a
territory takes India's for rupee invoices and Indian sellers (`en` → `en_IN`), so rupees are
grouped in lakhs (₹2,36,000.00) and dates read day-first whatever the customer left the locale
at; a territory the customer chose (`en_US`) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_percent

from hisaab.core.money import Money
from hisaab.invoicing.rendering.labels import LANGUAGES, Labels, labels_for
from hisaab.invoicing.rendering.words import amount_in_words
from hisaab.invoicing.schemas import InrValuesOut, InvoiceOut, TaxLineOut
from hisaab.tax import service as tax

# The state table is plain data the tax service does not re-export; reading it is no rule.
from hisaab.tax.service import BY_GST_CODE, BY_ISO, IndianState

__all__ = [
    "DetailRow",
    "DocumentLine",
    "Formatter",
    "Kind",
    "Party",
    "Reference",
    "Seller",
    "TaxDocument",
    "TotalRow",
    "document_locale",
    "from_invoice",
    "recipient_party",
    "supplier_party",
]

Kind = Literal["tax_invoice", "invoice", "credit_note"]
# Where the postal code goes after the city ("Bengaluru 560001"); elsewhere it goes first.
_CITY_FIRST = frozenset({"IN", "GB", "US", "CA", "AU", "IE", "SG", "AE"})
_GST_PLACE = re.compile(r"^\d{2}-")
_EN_DASH = "\u2013"


@dataclass(frozen=True)
class Seller:
    """What the invoice needs of the tenant; the service maps a tenant row onto it."""

    name: str
    country: str
    state: str | None
    gstin: str | None
    address: Mapping[str, Any] | None
    email: str | None
    timezone: str
    registrations: tuple[tuple[str, str], ...] = ()
    logo: str | None = None


@dataclass(frozen=True)
class Reference:
    """The invoice a credit note corrects (rule 53(1)(g): its number and date)."""

    number: str
    issued_at: datetime


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...]
    tax_ids: tuple[str, ...]  # "GSTIN: 29AAACA1234A1ZG", "VAT number: NL…"
    location: str | None  # "State: Karnataka, Code: 29" or "Country: Germany"
    email: str | None = None


@dataclass(frozen=True)
class DetailRow:
    label: str
    value: str


@dataclass(frozen=True)
class DocumentLine:
    position: str
    description: str
    period: str | None
    sac: str
    quantity: str
    unit_price: str
    discount: str
    taxable_value: str
    taxes: tuple[str, ...]  # "CGST 9%: ₹18,000.00"
    amount: str


@dataclass(frozen=True)
class TotalRow:
    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True)
class TaxDocument:
    kind: Kind
    gst: bool
    locale: str
    labels: Labels
    title: str
    subtitle: str | None  # the English title under a translated GST title
    copy_mark: str | None  # "Original for recipient" (rule 48)
    stamp: str | None  # "VOID"
    number: str
    issue_date: str
    issued_at: datetime
    supplier: Party
    recipient: Party
    details: tuple[DetailRow, ...]
    lines: tuple[DocumentLine, ...]
    show_discount: bool
    show_tax: bool
    totals: tuple[TotalRow, ...]
    amount_in_words: str
    reverse_charge: str | None  # GST: "Whether tax is payable on reverse charge: No"
    vat_reverse_charge: tuple[str, ...]  # VAT: "Reverse charge" and both VAT numbers
    exchange_rate: str | None
    notes: tuple[str, ...]
    signature: tuple[str, str]
    footer: str
    logo: str | None = None
    reference: Reference | None = None
    currency: str = "INR"
    meta: Mapping[str, str] = field(default_factory=dict)


def document_locale(customer_locale: str | None, currency: str, seller_country: str = "") -> str:
    """The Babel locale an invoice is printed in (see the module docstring)."""
    try:
        locale = Locale.parse((customer_locale or "en").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        locale = Locale("en")
    if locale.language not in LANGUAGES:
        locale = Locale("en")
    indian = currency.upper() == "INR" or seller_country.upper() == "IN"
    if locale.territory is None and indian:
        # de_IN, fr_IN: no such locale; the language's own stays.
        with suppress(UnknownLocaleError):
            locale = Locale(locale.language, "IN")
    return str(locale)


class Formatter:
    """Money, dates and rates in one locale and one timezone (the tenant's: DESIGN rule 2)."""

    def __init__(self, locale: str, currency: str, timezone: str) -> None:
        self.locale = locale
        self.currency = currency.upper()
        self.zone = ZoneInfo(timezone)
        self.labels = labels_for(Locale.parse(locale).language)

    def money(self, amount_minor: int, currency: str | None = None) -> str:
        return Money(amount_minor, currency or self.currency).format(self.locale)

    def day(self, moment: datetime | date) -> date:
        return moment.astimezone(self.zone).date() if isinstance(moment, datetime) else moment

    def long_date(self, moment: datetime | date) -> str:
        return str(format_date(self.day(moment), "long", locale=self.locale))

    def short_date(self, moment: datetime | date) -> str:
        return str(format_date(self.day(moment), "medium", locale=self.locale))

    def period(self, start: datetime, end: datetime) -> str:
        return f"{self.short_date(start)} {_EN_DASH} {self.short_date(end)}"

    def rate(self, percent: str) -> str:
        value = Decimal(percent) / 100
        return str(format_percent(value, locale=self.locale, decimal_quantization=False))

    def number(self, value: int | Decimal | str) -> str:
        """A number with exactly the decimals it was recorded with (a rate of "83.1250")."""
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = copy(Locale.parse(self.locale).decimal_formats[None])
        pattern.frac_prec = (places, places)
        return str(pattern.apply(number, self.locale))

    def country(self, code: str) -> str:
        names: Mapping[str, str] = Locale.parse(self.locale).territories
        return names.get(code.upper(), code.upper())


# --- parties ---------------------------------------------------------------------------------


def _address(address: Mapping[str, Any] | None, country: str) -> tuple[str, ...]:
    if not address:
        return ()
    city, postal = address.get("city") or "", address.get("postal_code") or ""
    region = address.get("state") or ""
    if country.upper() in _CITY_FIRST:
        place = ", ".join(p for p in (city, region) if p)
        city_line = f"{place} {postal}".strip()
    else:
        city_line = f"{postal} {city}".strip()
        if region:
            city_line = f"{city_line}, {region}" if city_line else region
    lines = (address.get("line1"), address.get("line2"), city_line)
    return tuple(str(line) for line in lines if line)


def _state_line(state: IndianState, labels: Labels) -> str:
    return labels.state_code.format(name=state.name, code=state.gst_code)


def _indian_state(gstin: str | None, state: str | None) -> IndianState | None:
    if gstin and gstin[:2] in BY_GST_CODE:
        return BY_GST_CODE[gstin[:2]]
    if state:
        return BY_ISO.get(state.strip().upper().removeprefix("IN-"))
    return None


def _location(country: str, gstin: str | None, state: str | None, fmt: Formatter) -> str | None:
    labels = fmt.labels
    if country.upper() == "IN":
        found = _indian_state(gstin, state)
        return _state_line(found, labels) if found else fmt.country("IN")
    return f"{labels.country}: {fmt.country(country)}"


_VAT_SCHEMES = {"eu_vat": "vat_number", "eu_oss": "oss_number", "gb_vat": "vat_number"}
_GST_TYPES = frozenset({"CGST", "SGST", "UTGST", "IGST"})


def _eu(country: str) -> bool:
    return country.upper() in tax.EU_MEMBER_STATES


def _relevant(scheme: str, customer_country: str) -> bool:
    if scheme == "gb_vat":
        return customer_country.upper() == "GB"
    return scheme in ("eu_vat", "eu_oss") and _eu(customer_country)


def _vat_number(seller: Seller, customer_country: str) -> str | None:
    """The seller's VAT registration that speaks to this customer, if any."""
    for scheme, number in seller.registrations:
        if scheme in _VAT_SCHEMES and _relevant(scheme, customer_country):
            return number
    return None


def supplier_party(seller: Seller, customer_country: str, fmt: Formatter) -> Party:
    """The seller as rule 46(a) and art. 226(3) want it: name, address, GSTIN, VAT number.

    Only registrations that speak to this customer are printed: the GSTIN always, an EU VAT or
    OSS number to EU customers, a UK VAT number to UK customers.
    """
    labels = fmt.labels
    tax_ids: list[str] = []
    if seller.gstin:
        tax_ids.append(f"{labels.gstin}: {seller.gstin}")
    for scheme, number in seller.registrations:
        if scheme in _VAT_SCHEMES and _relevant(scheme, customer_country):
            tax_ids.append(f"{getattr(labels, _VAT_SCHEMES[scheme])}: {number}")
    return Party(
        name=seller.name,
        address=_address(seller.address, seller.country),
        tax_ids=tuple(tax_ids),
        location=_location(seller.country, seller.gstin, seller.state, fmt),
        email=f"{labels.email}: {seller.email}" if seller.email else None,
    )


def recipient_party(customer: Mapping[str, Any], fmt: Formatter) -> Party:
    """The customer snapshot frozen on the invoice: name, address, GSTIN or VAT number, and
    its state with code (rule 46(d)/(e)) or its country (the export proviso)."""
    labels = fmt.labels
    country = str(customer.get("country") or "")
    gstin, vat_id = customer.get("gstin"), customer.get("vat_id")
    tax_ids = []
    if gstin:
        tax_ids.append(f"{labels.gstin}: {gstin}")
    if vat_id:
        tax_ids.append(f"{labels.vat_number}: {vat_id}")
    address = customer.get("address")
    return Party(
        name=str(customer.get("name") or ""),
        address=_address(address if isinstance(address, Mapping) else None, country),
        tax_ids=tuple(tax_ids),
        location=_location(country, gstin, customer.get("state"), fmt) if country else None,
        email=None,
    )


# --- lines and totals --------------------------------------------------------------------------


def _tax_name(tax_type: str, fmt: Formatter) -> str:
    """GST's names are the law's own in every language; VAT is "USt." or "TVA"."""
    return fmt.labels.vat if tax_type == "VAT" else tax_type


def _tax_label(line: TaxLineOut, fmt: Formatter) -> str:
    return fmt.labels.tax_at.format(tax=_tax_name(line.type, fmt), rate=fmt.rate(line.rate))


def _lines(invoice: InvoiceOut, fmt: Formatter) -> tuple[DocumentLine, ...]:
    out = []
    for position, line in enumerate(invoice.lines, start=1):
        tax = sum(t.amount for t in line.tax_lines)
        taxable = (
            line.tax_lines[0].taxable_amount
            if line.tax_lines
            else line.amount - line.discount_amount
        )
        out.append(
            DocumentLine(
                position=str(position),
                description=line.description,
                period=fmt.period(line.period_start, line.period_end),
                sac=line.sac_code or "",
                quantity=fmt.number(line.quantity),
                unit_price=fmt.money(line.unit_amount),
                discount=fmt.money(line.discount_amount) if line.discount_amount else "",
                taxable_value=fmt.money(taxable),
                taxes=tuple(
                    f"{_tax_name(t.type, fmt)} {fmt.rate(t.rate)}: {fmt.money(t.amount)}"
                    for t in line.tax_lines
                ),
                amount=fmt.money(taxable + tax),
            )
        )
    return tuple(out)


def _taxable_total(invoice: InvoiceOut) -> int:
    return sum(
        line.tax_lines[0].taxable_amount if line.tax_lines else line.amount - line.discount_amount
        for line in invoice.lines
    )


def _totals(invoice: InvoiceOut, fmt: Formatter) -> tuple[TotalRow, ...]:
    labels = fmt.labels
    rows = [TotalRow(labels.taxable_value, fmt.money(_taxable_total(invoice)))]
    rows += [TotalRow(_tax_label(t, fmt), fmt.money(t.amount)) for t in invoice.tax_lines]
    rows.append(TotalRow(labels.total, fmt.money(invoice.total), strong=True))
    if invoice.credit_applied:
        rows.append(TotalRow(labels.credit_applied, fmt.money(-invoice.credit_applied)))
        rows.append(TotalRow(labels.amount_due, fmt.money(invoice.amount_due), strong=True))
    return tuple(rows)


# --- the document ------------------------------------------------------------------------------


def _place_of_supply(place: str | None, fmt: Formatter) -> str | None:
    if not place:
        return None
    if _GST_PLACE.match(place):
        return place  # "29-Karnataka": code and name, as rule 46 wants and the tax engine wrote
    return fmt.country(place) if len(place) == 2 else place


def _exchange_rate(values: InrValuesOut | None, fmt: Formatter, currency: str) -> str | None:
    """A GST tenant's foreign-currency invoice states its value and tax in rupees too (CGST
    Rules, rule 34: the rate used is part of the taxable value's determination)."""
    if values is None or currency.upper() == "INR":
        return None
    return fmt.labels.exchange_rate.format(
        currency=currency.upper(),
        rate=f"{fmt.number(values.rate)} INR",
        date=fmt.long_date(values.rate_date),
        taxable=fmt.money(values.taxable_amount, "INR"),
        tax=" + ".join(f"{t.type} {fmt.money(t.amount, 'INR')}" for t in values.tax_lines)
        or fmt.money(values.tax, "INR"),
        total=fmt.money(values.total, "INR"),
    )


def from_invoice(
    invoice: InvoiceOut,
    seller: Seller,
    *,
    kind: Kind | None = None,
    reference: Reference | None = None,
) -> TaxDocument:
    """The document of a finalized invoice (it must have a number and an issue date).

    `kind` and `reference` let a credit note that presents itself as an `InvoiceOut` reuse
    all of this; an invoice leaves them out.
    """
    if invoice.number is None or invoice.issued_at is None:
        raise ValueError("a draft has no number or date yet: only finalized invoices print")
    customer = invoice.customer
    locale = document_locale(customer.get("locale"), invoice.currency, seller.country)
    fmt = Formatter(locale, invoice.currency, seller.timezone)
    labels = fmt.labels
    gst = seller.gstin is not None
    kind = kind or ("tax_invoice" if gst else "invoice")
    title = {
        "tax_invoice": labels.title_tax_invoice,
        "invoice": labels.title_invoice,
        "credit_note": labels.title_credit_note,
    }[kind]
    english = {"tax_invoice": "Tax Invoice", "invoice": "Invoice", "credit_note": "Credit Note"}
    subtitle = english[kind] if gst and labels.language != "en" else None
    credit = kind == "credit_note"

    details = [
        DetailRow(labels.number_credit_note if credit else labels.number_invoice, invoice.number),
        DetailRow(
            labels.date_credit_note if credit else labels.date_invoice,
            fmt.long_date(invoice.issued_at),
        ),
    ]
    if reference is not None:
        details.append(
            DetailRow(
                labels.original_invoice,
                f"{reference.number} ({fmt.long_date(reference.issued_at)})",
            )
        )
    if (
        not credit
        and invoice.due_at is not None
        and fmt.day(invoice.due_at) != fmt.day(invoice.issued_at)
    ):
        details.append(DetailRow(labels.due_date, fmt.long_date(invoice.due_at)))
    if invoice.period_start is not None and invoice.period_end is not None:
        details.append(
            DetailRow(labels.service_period, fmt.period(invoice.period_start, invoice.period_end))
        )
    place = _place_of_supply(invoice.place_of_supply, fmt)
    if place:
        details.append(DetailRow(labels.place_of_supply, place))

    customer_country = str(customer.get("country") or "")
    supplier = supplier_party(seller, customer_country, fmt)
    recipient = recipient_party(customer, fmt)
    # One flag on the invoice, two laws: a reverse charge that comes with a VAT line is the
    # VAT customer's (art. 196 / VATA s. 8); GST reverse-charges none of these supplies.
    vat = any(t.type not in _GST_TYPES for t in invoice.tax_lines)
    reverse_charge = None
    if gst:
        answer = labels.yes if invoice.reverse_charge and not vat else labels.no
        reverse_charge = f"{labels.reverse_charge_question}: {answer}"
    vat_reverse_charge: tuple[str, ...] = ()
    if invoice.reverse_charge and vat:
        vat_reverse_charge = (labels.reverse_charge,)
        seller_vat = _vat_number(seller, customer_country)
        if seller_vat:
            vat_reverse_charge += (f"{labels.supplier_vat}: {seller_vat}",)
        if customer.get("vat_id"):
            vat_reverse_charge += (f"{labels.customer_vat}: {customer['vat_id']}",)

    lines = _lines(invoice, fmt)
    return TaxDocument(
        kind=kind,
        gst=gst,
        locale=locale,
        labels=labels,
        title=title,
        subtitle=subtitle,
        copy_mark=labels.original_for_recipient if gst else None,
        stamp=labels.void if invoice.status == "void" else None,
        number=invoice.number,
        issue_date=fmt.long_date(invoice.issued_at),
        issued_at=invoice.issued_at,
        supplier=supplier,
        recipient=recipient,
        details=tuple(details),
        lines=lines,
        show_discount=any(line.discount_amount for line in invoice.lines),
        show_tax=any(line.tax_lines for line in invoice.lines),
        totals=_totals(invoice, fmt),
        amount_in_words=amount_in_words(invoice.total, invoice.currency, locale),
        reverse_charge=reverse_charge,
        vat_reverse_charge=vat_reverse_charge,
        exchange_rate=_exchange_rate(invoice.inr_values, fmt, invoice.currency),
        notes=tuple(invoice.notes),
        signature=(labels.for_supplier.format(name=seller.name), labels.authorised_signatory),
        footer=labels.computer_generated,
        logo=seller.logo,
        reference=reference,
        currency=invoice.currency,
        meta={"title": f"{title} {invoice.number}", "author": seller.name},
    )
