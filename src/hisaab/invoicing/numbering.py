"""Invoice numbers (API.md "Invoice numbers"), pure.

GST tenants number per Indian financial year (April to March) as `PREFIX/FY/SEQ`, which the
e-invoice portal caps at 16 characters from `A-Z 0-9 / -`; everyone else numbers per calendar year
as `PREFIX-YYYY-SEQ`. Sequences are consecutive from 1 in each series; the database hands out the
next value inside the finalizing transaction (see repository), so a rolled-back finalization
gives its number back and the series stays gapless.

Invoices of customers on a test clock number in a series of that clock, so simulated billing
never consumes (or, when the clock is deleted, punches holes in) the tenant's real series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

GST_MAX_LENGTH = 16
_GST_NUMBER = re.compile(r"^[A-Z1-9][A-Z0-9/-]*$")


class NumberSeriesExhausted(ValueError):
    """The next number would not fit the 16 characters GST allows; the prefix must shrink."""


@dataclass(frozen=True)
class Series:
    """One gapless run of numbers: the key the sequence is kept under and its period label."""

    key: str
    label: str


def financial_year(day: date) -> str:
    """The Indian financial year holding `day`, as the four digits `2526` for 2025-26."""
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first % 100:02d}{(first + 1) % 100:02d}"


def series(kind: str, gst: bool, day: date, clock_id: str | None = None) -> Series:
    label = financial_year(day) if gst else f"{day.year:04d}"
    # The scheme is part of the key: FY 2020-21's label "2021" is also the calendar year 2021.
    scheme = "fy" if gst else "cy"
    key = f"{kind}:{scheme}{label}" + (f":{clock_id}" if clock_id else "")
    return Series(key=key, label=label)


# Credit notes number in a series of their own (API.md): `ACME-CN/2526/1`.
PREFIX_SUFFIX = {"invoice": "", "credit_note": "-CN"}


def prefix_of(kind: str, tenant_prefix: str) -> str:
    return tenant_prefix + PREFIX_SUFFIX[kind]


def invoice_number(prefix: str, gst: bool, label: str, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequences start at 1")
    if not gst:
        return f"{prefix}-{label}-{sequence:04d}"
    number = f"{prefix}/{label}/{sequence}"
    if len(number) > GST_MAX_LENGTH:
        raise NumberSeriesExhausted(
            f"invoice number {number!r} is longer than {GST_MAX_LENGTH} characters"
        )
    if not _GST_NUMBER.match(number):
        raise ValueError(f"invoice number {number!r} breaks the GST character rules")
    return number
