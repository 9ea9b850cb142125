"""Properties of every decision, whoever sells to whomever: the invariants an auditor relies on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.tax.assessment import Assessment, LineTax, Party, TaxableLine, TaxComponent
from hisaab.tax.engine import decide
from hisaab.tax.in_states import STATES, IndianState
from hisaab.tax.rates import GST_SERVICES
from tests.tax import parties as p


@dataclass(frozen=True)
class Seller:
    party: Party
    registrations: tuple[tuple[str, str], ...] = ()
    lut: bool = False


SELLERS = [
    Seller(p.KA_SELLER),
    Seller(p.KA_SELLER, lut=True),
    Seller(p.CH_SELLER),
    Seller(p.CH_SELLER, lut=True),
    Seller(p.LA_SELLER),
    Seller(p.DL_SELLER),
    Seller(p.KA_SELLER, (("eu_oss", "EU372000041"),), lut=True),
    Seller(p.KA_SELLER, (("eu_oss", "EU372000041"), ("gb_vat", "GB980780684"))),
    Seller(p.DE_SELLER, p.DE_VAT),
    Seller(p.DE_SELLER, p.DE_VAT + p.GB_VAT),
    Seller(p.US_SELLER, p.NON_UNION_OSS),
    Seller(p.US_SELLER, p.GB_VAT),
    Seller(p.GB_SELLER, p.GB_VAT + p.NON_UNION_OSS),
    Seller(p.US_SELLER),
    Seller(p.IN_UNREGISTERED),
]
BUYERS = [
    p.KA_CONSUMER, p.KA_BUSINESS, p.MH_BUSINESS, p.MH_CONSUMER, p.CH_CONSUMER, p.PB_CONSUMER,
    p.DL_CONSUMER, p.LA_CONSUMER, p.DH_CONSUMER, p.KA_SEZ, p.TN_SEZ, p.US_COMPANY,
    p.SG_COMPANY, p.DE_CONSUMER, p.FR_CONSUMER, p.IT_CONSUMER, p.HU_CONSUMER, p.FI_CONSUMER,
    p.EE_CONSUMER, p.GR_CONSUMER, p.DE_BUSINESS, p.FR_BUSINESS, p.NL_BUSINESS, p.GR_BUSINESS,
    p.GB_CONSUMER, p.GB_BUSINESS,
]  # fmt: skip

amounts = st.integers(min_value=-(10**12), max_value=10**12)
behaviors = st.sampled_from(["exclusive", "inclusive"])
sacs = st.sampled_from([None, *sorted(GST_SERVICES)])
days = st.dates(min_value=date(2017, 7, 1), max_value=date(2030, 12, 31))


def taxable_lines(amount: st.SearchStrategy[int] = amounts) -> st.SearchStrategy[TaxableLine]:
    return st.builds(TaxableLine, amount, behaviors, sacs)


def run(seller: Seller, buyer: Party, lines: list[TaxableLine], on: date) -> Assessment:
    return decide(
        seller.party,
        buyer,
        "INR",
        lines,
        on,
        seller_lut=seller.lut,
        seller_registrations=seller.registrations,
    )


scenarios = st.tuples(
    st.sampled_from(SELLERS),
    st.sampled_from(BUYERS),
    st.lists(taxable_lines(), max_size=6),
    days,
)


# --- GST: CGST == SGST (or UTGST) on every intra-state line --------------------------------------


@st.composite
def intra_state(draw: st.DrawFn) -> tuple[IndianState, Party, Party]:
    state = draw(st.sampled_from(STATES))
    seller = Party("IN", state.iso_code, p.make_gstin(state.gst_code), None)
    registered = draw(st.booleans())
    buyer = Party(
        "IN",
        None if registered else state.iso_code,
        p.make_gstin(state.gst_code, p.BUYER_PAN) if registered else None,
        None,
    )
    return state, seller, buyer


@settings(max_examples=300)
@given(intra_state(), st.lists(st.builds(TaxableLine, amounts, behaviors, sacs), min_size=1))
def test_cgst_equals_sgst_on_every_intra_state_line(
    parties: tuple[IndianState, Party, Party], lines: list[TaxableLine]
) -> None:
    """Exclusive lines by API.md's rule; inclusive ones too, because rule 35 of the CGST Rules
    computes each tax from the inclusive value on its own (levies.line_tax)."""
    state, seller, buyer = parties
    got = decide(
        seller, buyer, "INR", lines, date(2026, 1, 15), seller_lut=False, seller_registrations=()
    )
    state_tax = "UTGST" if state.ut_without_legislature else "SGST"
    for line in got.lines:
        cgst, other = line.components
        assert (cgst.type, other.type) == ("CGST", state_tax)
        assert cgst.amount == other.amount
        assert cgst.rate == other.rate == Decimal("9.00")
        assert cgst.jurisdiction == other.jurisdiction == state.iso_code
    assert got.place_of_supply == f"{state.gst_code}-{state.name}"


# --- every scenario ---------------------------------------------------------------------------


@settings(max_examples=400)
@given(scenarios)
def test_inclusive_lines_split_exactly_into_taxable_and_tax(
    scenario: tuple[Seller, Party, list[TaxableLine], date],
) -> None:
    seller, buyer, lines, on = scenario
    got = run(seller, buyer, lines, on)
    for line, tax in zip(lines, got.lines, strict=True):
        if line.tax_behavior == "inclusive":
            assert tax.taxable_amount + tax.tax == line.amount
            # and the taxable value is within a minor unit per levy of the exact one
            total_rate = sum((Fraction(c.rate) for c in tax.components), Fraction(0))
            exact = Fraction(line.amount) * 100 / (100 + total_rate)
            assert abs(tax.taxable_amount - exact) <= Fraction(len(tax.components), 2)


@settings(max_examples=400)
@given(scenarios)
def test_exclusive_components_are_each_rounded_half_up_on_the_amount(
    scenario: tuple[Seller, Party, list[TaxableLine], date],
) -> None:
    """Checked against Decimal's own ROUND_HALF_UP, not the engine's Fraction arithmetic."""
    seller, buyer, lines, on = scenario
    got = run(seller, buyer, lines, on)
    for line, tax in zip(lines, got.lines, strict=True):
        if line.tax_behavior == "exclusive":
            assert tax.taxable_amount == line.amount
            for component in tax.components:
                expected = (Decimal(line.amount) * component.rate / 100).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
                assert component.amount == int(expected)


@settings(max_examples=400)
@given(scenarios)
def test_every_line_adds_up(scenario: tuple[Seller, Party, list[TaxableLine], date]) -> None:
    seller, buyer, lines, on = scenario
    got = run(seller, buyer, lines, on)
    assert len(got.lines) == len(lines)
    for tax in got.lines:
        assert tax.tax == sum(c.amount for c in tax.components)
        assert all(c.taxable_amount == tax.taxable_amount for c in tax.components)
        assert all(c.rate >= 0 and c.rate.as_tuple().exponent == -2 for c in tax.components)
        if any(c.rate == 0 for c in tax.components):
            assert all(c.amount == 0 for c in tax.components if c.rate == 0)


@settings(max_examples=400)
@given(
    st.sampled_from(SELLERS),
    st.sampled_from(BUYERS),
    st.lists(taxable_lines(st.integers(min_value=0, max_value=10**12)), max_size=6),
    days,
)
def test_tax_is_never_negative_for_non_negative_amounts(
    seller: Seller, buyer: Party, lines: list[TaxableLine], on: date
) -> None:
    got = run(seller, buyer, lines, on)
    for tax in got.lines:
        assert tax.tax >= 0
        assert tax.taxable_amount >= 0
        assert all(c.amount >= 0 for c in tax.components)


def _negated(line: LineTax) -> LineTax:
    return LineTax(
        taxable_amount=-line.taxable_amount,
        tax=-line.tax,
        components=tuple(
            TaxComponent(c.type, c.rate, c.jurisdiction, -c.taxable_amount, -c.amount)
            for c in line.components
        ),
    )


@settings(max_examples=400)
@given(scenarios)
def test_a_credit_line_is_the_exact_negative_of_the_charge(
    scenario: tuple[Seller, Party, list[TaxableLine], date],
) -> None:
    seller, buyer, lines, on = scenario
    charge = run(seller, buyer, lines, on)
    credit = run(
        seller,
        buyer,
        [TaxableLine(-line.amount, line.tax_behavior, line.sac_code) for line in lines],
        on,
    )
    assert credit.lines == tuple(_negated(line) for line in charge.lines)
    assert (credit.place_of_supply, credit.reverse_charge, credit.notes) == (
        charge.place_of_supply,
        charge.reverse_charge,
        charge.notes,
    )


@settings(max_examples=200)
@given(scenarios)
def test_each_line_is_taxed_on_its_own(
    scenario: tuple[Seller, Party, list[TaxableLine], date],
) -> None:
    """Rounding is per line: no line's tax depends on the other lines of the invoice."""
    seller, buyer, lines, on = scenario
    together = run(seller, buyer, lines, on)
    alone = [run(seller, buyer, [line], on) for line in lines]
    assert together.lines == tuple(a.lines[0] for a in alone)
    for a in alone:
        assert (a.place_of_supply, a.reverse_charge, a.notes) == (
            together.place_of_supply,
            together.reverse_charge,
            together.notes,
        )
