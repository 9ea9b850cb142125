"""The arithmetic of one line: half-up rounding per component, exclusive and inclusive prices."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from hisaab.tax.assessment import LineTax, TaxableLine, TaxComponent
from hisaab.tax.levies import Levy, line_tax
from hisaab.tax.rounding import percent, percent_of, round_half_up

CGST = Levy("CGST", Decimal(9), "KA")
SGST = Levy("SGST", Decimal(9), "KA")
IGST = Levy("IGST", Decimal(18), "IN")
IGST_LUT = Levy("IGST", Decimal(0), "IN")
VAT_DE = Levy("VAT", Decimal(19), "DE")
VAT_FI = Levy("VAT", Decimal("25.5"), "FI")
VAT_GB = Levy("VAT", Decimal(20), "GB")


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(0), 0),
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),  # half up, not half even
        (Fraction(49, 100), 0),
        (Fraction(51, 100), 1),
        (Fraction(-1, 2), -1),  # half away from zero: the mirror of +1/2
        (Fraction(-5, 2), -3),
        (Fraction(-49, 100), 0),
        (Fraction(10**30 + 1, 2), (10**30) // 2 + 1),  # no precision context to overflow
    ],
)
def test_round_half_up(value: Fraction, expected: int) -> None:
    assert round_half_up(value) == expected


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        (100000, "9", 9000),
        (55, "9", 5),  # 4.95
        (55, "18", 10),  # 9.90
        (50, "9", 5),  # 4.50: the half goes up
        (-50, "9", -5),
        (1, "25.5", 0),  # 0.255
        (2, "25.5", 1),  # 0.51
        (0, "18", 0),
    ],
)
def test_percent_of(amount: int, rate: str, expected: int) -> None:
    assert percent_of(amount, Decimal(rate)) == expected


def test_percent_of_refuses_what_is_not_minor_units() -> None:
    with pytest.raises(TypeError):
        percent_of(10.5, Decimal(18))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(True, Decimal(18))


@pytest.mark.parametrize(
    ("rate", "shown"),
    [("9", "9.00"), ("18", "18.00"), ("25.5", "25.50"), ("0", "0.00"), ("0.125", "0.125")],
)
def test_rates_print_with_two_decimals(rate: str, shown: str) -> None:
    assert str(percent(Decimal(rate))) == shown


# --- one line ----------------------------------------------------------------------------------


def components(taxable: int, *parts: tuple[Levy, int]) -> LineTax:
    return LineTax(
        taxable_amount=taxable,
        tax=sum(amount for _, amount in parts),
        components=tuple(
            TaxComponent(levy.type, percent(levy.rate), levy.jurisdiction, taxable, amount)
            for levy, amount in parts
        ),
    )


@pytest.mark.parametrize(
    ("amount", "behavior", "levies", "expected"),
    [
        pytest.param(
            100000, "exclusive", (CGST, SGST), components(100000, (CGST, 9000), (SGST, 9000)),
            id="exclusive-intra-state",
        ),
        pytest.param(
            55, "exclusive", (CGST, SGST), components(55, (CGST, 5), (SGST, 5)),
            id="exclusive-each-half-rounds-on-its-own",
        ),
        pytest.param(
            118000, "inclusive", (CGST, SGST), components(100000, (CGST, 9000), (SGST, 9000)),
            id="inclusive-exact",
        ),
        pytest.param(
            # round(100 / 1.18) = 85 would leave 15 paise, odd; rule 35 gives each tax
            # round(100 * 9 / 118) = round(7.63) = 8, and the taxable value the rest.
            100, "inclusive", (CGST, SGST), components(84, (CGST, 8), (SGST, 8)),
            id="inclusive-odd-paisa-goes-to-the-taxable-value",
        ),
        pytest.param(
            # 59 * 9 / 118 = 4.5 exactly: the tax rounds up (rule 35 defines the tax amount).
            59, "inclusive", (CGST, SGST), components(49, (CGST, 5), (SGST, 5)),
            id="inclusive-half-paisa-tax-rounds-up",
        ),
        pytest.param(
            11800, "inclusive", (IGST,), components(10000, (IGST, 1800)),
            id="inclusive-igst",
        ),
        pytest.param(
            1200, "inclusive", (VAT_GB,), components(1000, (VAT_GB, 200)),
            id="inclusive-vat-fraction-one-sixth",
        ),
        pytest.param(
            # 3 * 20 / 120 = 0.5: one penny of VAT, two of value
            3, "inclusive", (VAT_GB,), components(2, (VAT_GB, 1)),
            id="inclusive-vat-half-penny",
        ),
        pytest.param(
            1255, "inclusive", (VAT_FI,), components(1000, (VAT_FI, 255)),
            id="inclusive-fractional-rate",
        ),
        pytest.param(
            5900, "inclusive", (IGST_LUT,), components(5900, (IGST_LUT, 0)),
            id="inclusive-zero-rated-is-all-value",
        ),
        pytest.param(
            13700, "inclusive", (IGST, VAT_DE), components(10000, (IGST, 1800), (VAT_DE, 1900)),
            id="inclusive-two-regimes-share-the-base",
        ),
        pytest.param(
            10000, "exclusive", (IGST, VAT_DE), components(10000, (IGST, 1800), (VAT_DE, 1900)),
            id="exclusive-two-regimes",
        ),
        pytest.param(777, "exclusive", (), components(777), id="no-levies-exclusive"),
        pytest.param(777, "inclusive", (), components(777), id="no-levies-inclusive"),
        pytest.param(
            -118000, "inclusive", (CGST, SGST),
            components(-100000, (CGST, -9000), (SGST, -9000)),
            id="inclusive-credit",
        ),
        pytest.param(
            -55, "exclusive", (IGST,), components(-55, (IGST, -10)), id="exclusive-credit"
        ),
        pytest.param(0, "exclusive", (IGST,), components(0, (IGST, 0)), id="zero"),
    ],
)  # fmt: skip
def test_line_tax(amount: int, behavior: str, levies: tuple[Levy, ...], expected: LineTax) -> None:
    assert line_tax(TaxableLine(amount, behavior, None), levies) == expected


def test_unknown_tax_behavior_is_refused() -> None:
    with pytest.raises(ValueError, match="tax_behavior must be one of exclusive, inclusive"):
        line_tax(TaxableLine(100, "gross", None), (IGST,))


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(TypeError, match="int of minor units"):
        line_tax(TaxableLine(100.0, "inclusive", None), (IGST,))  # type: ignore[arg-type]
