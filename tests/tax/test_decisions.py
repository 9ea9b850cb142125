"""Tax decisions, one invoice at a time: who sells to whom, and exactly what the engine answers.

Each case states the whole Assessment (every line's taxable value and components, the place of
supply, the reverse-charge flag and the notes), so a change in any regime shows up as a diff.
Amounts are minor units: 100000 = ₹1,000.00 or €1,000.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from hisaab.tax import eu_vat, gb_vat, in_gst
from hisaab.tax.assessment import Assessment, LineTax, Party, TaxableLine, TaxComponent
from hisaab.tax.engine import decide
from tests.tax.parties import (
    CH_CONSUMER,
    CH_SELLER,
    DD_SELLER,
    DE_BUSINESS,
    DE_CONSUMER,
    DE_SELLER,
    DE_VAT,
    DH_CONSUMER,
    DL_CONSUMER,
    DL_SELLER,
    EE_CONSUMER,
    FI_CONSUMER,
    FR_BUSINESS,
    FR_CONSUMER,
    GB_BUSINESS,
    GB_CONSUMER,
    GB_SELLER,
    GB_VAT,
    GR_BUSINESS,
    GR_CONSUMER,
    HU_CONSUMER,
    IN_UNREGISTERED,
    IT_CONSUMER,
    KA_BUSINESS,
    KA_CONSUMER,
    KA_SELLER,
    KA_SEZ,
    LA_CONSUMER,
    LA_SELLER,
    MH_BUSINESS,
    MH_CONSUMER,
    NL_BUSINESS,
    NON_UNION_OSS,
    ON,
    PB_CONSUMER,
    SG_COMPANY,
    TN_SEZ,
    US_COMPANY,
    US_SELLER,
)

KA = "29-Karnataka"
EXPORT = in_gst.EXPORT_PLACE_OF_SUPPLY
LUT_EXPORT = in_gst.NOTE_EXPORT_LUT
PAID_EXPORT = in_gst.NOTE_EXPORT_PAID
EU_RC = eu_vat.NOTE_REVERSE_CHARGE
OUTSIDE_EU = eu_vat.NOTE_OUTSIDE_EU
UK_RC = gb_vat.NOTE_REVERSE_CHARGE
OUTSIDE_UK = gb_vat.NOTE_OUTSIDE_UK
KA_OSS = (("eu_oss", "EU372000041"),)
KA_GB_VAT = (("gb_vat", "GB980780684"),)


def ex(amount: int, sac: str | None = None) -> TaxableLine:
    return TaxableLine(amount, "exclusive", sac)


def inc(amount: int, sac: str | None = None) -> TaxableLine:
    return TaxableLine(amount, "inclusive", sac)


def line(taxable: int, *parts: tuple[str, str, str, int]) -> LineTax:
    """A line's expected tax: (type, rate, jurisdiction, amount) per component."""
    return LineTax(
        taxable_amount=taxable,
        tax=sum(amount for *_, amount in parts),
        components=tuple(
            TaxComponent(kind, Decimal(rate), where, taxable, amount)
            for kind, rate, where, amount in parts
        ),
    )


def untaxed(taxable: int) -> LineTax:
    return LineTax(taxable_amount=taxable, tax=0, components=())


def cgst_sgst(taxable: int, state: str, half: int, state_tax: str = "SGST") -> LineTax:
    return line(taxable, ("CGST", "9.00", state, half), (state_tax, "9.00", state, half))


def igst(taxable: int, amount: int, rate: str = "18.00") -> LineTax:
    return line(taxable, ("IGST", rate, "IN", amount))


def vat(taxable: int, country: str, rate: str, amount: int) -> LineTax:
    return line(taxable, ("VAT", rate, country, amount))


def expect(
    *lines: LineTax,
    place: str | None,
    reverse_charge: bool = False,
    notes: tuple[str, ...] = (),
) -> Assessment:
    return Assessment(
        lines=lines, place_of_supply=place, reverse_charge=reverse_charge, notes=notes
    )


@dataclass(frozen=True)
class Case:
    seller: Party
    buyer: Party
    lines: tuple[TaxableLine, ...]
    expected: Assessment
    lut: bool = False
    registrations: tuple[tuple[str, str], ...] = ()
    on: date = ON
    currency: str = "INR"


def case(
    name: str,
    seller: Party,
    buyer: Party,
    lines: tuple[TaxableLine, ...],
    expected: Assessment,
    *,
    lut: bool = False,
    registrations: tuple[tuple[str, str], ...] = (),
    on: date = ON,
    currency: str = "INR",
) -> object:
    return pytest.param(
        Case(seller, buyer, lines, expected, lut, registrations, on, currency), id=name
    )


INDIA = [
    # --- intra-State: CGST + SGST (IGST Act s. 8(2)) --------------------------------------------
    case(
        "ka-seller-ka-consumer-exclusive",
        KA_SELLER,
        KA_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
    ),
    case(
        "ka-seller-ka-consumer-inclusive",
        KA_SELLER,
        KA_CONSUMER,
        (inc(118000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
    ),
    case(
        "ka-seller-ka-consumer-inclusive-odd-paisa",
        KA_SELLER,
        KA_CONSUMER,
        (inc(100),),
        expect(cgst_sgst(84, "KA", 8), place=KA),
    ),
    case(
        "ka-seller-ka-business",
        KA_SELLER,
        KA_BUSINESS,
        (ex(250000),),
        expect(cgst_sgst(250000, "KA", 22500), place=KA),
    ),
    case(
        "ka-seller-ka-consumer-lut-changes-nothing-at-home",
        KA_SELLER,
        KA_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
        lut=True,
    ),
    case(
        "ka-seller-gstin-state-beats-billing-state",
        KA_SELLER,
        Party("IN", "MH", KA_BUSINESS.gstin, None),
        (ex(100000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
    ),
    case(
        "gstin-given-only-as-registration",
        Party("IN", "KA", None, None),
        KA_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
        registrations=(("in_gst", KA_SELLER.gstin or ""),),
    ),
    case(
        "dl-seller-dl-consumer-ut-with-legislature-has-sgst",
        DL_SELLER,
        DL_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "DL", 9000), place="07-Delhi"),
    ),
    # --- intra-UT without legislature: CGST + UTGST -------------------------------------------
    case(
        "ch-seller-ch-consumer-utgst",
        CH_SELLER,
        CH_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "CH", 9000, "UTGST"), place="04-Chandigarh"),
    ),
    case(
        "ch-seller-ch-consumer-utgst-inclusive",
        CH_SELLER,
        CH_CONSUMER,
        (inc(59000),),
        expect(cgst_sgst(50000, "CH", 4500, "UTGST"), place="04-Chandigarh"),
    ),
    case(
        "la-seller-la-consumer-utgst",
        LA_SELLER,
        LA_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "LA", 9000, "UTGST"), place="38-Ladakh"),
    ),
    case(
        "old-daman-gstin-seller-dh-consumer-utgst",
        DD_SELLER,
        DH_CONSUMER,
        (ex(100000),),
        expect(
            cgst_sgst(100000, "DH", 9000, "UTGST"),
            place="26-Dadra and Nagar Haveli and Daman and Diu",
        ),
    ),
    # --- inter-State: IGST (IGST Act s. 7(3)) ----------------------------------------------------
    case(
        "ka-seller-mh-business-exclusive",
        KA_SELLER,
        MH_BUSINESS,
        (ex(250000),),
        expect(igst(250000, 45000), place="27-Maharashtra"),
    ),
    case(
        "ka-seller-mh-business-inclusive",
        KA_SELLER,
        MH_BUSINESS,
        (inc(11800),),
        expect(igst(10000, 1800), place="27-Maharashtra"),
    ),
    case(
        "ka-seller-mh-consumer-iso-state",
        KA_SELLER,
        MH_CONSUMER,
        (ex(99900),),
        expect(igst(99900, 17982), place="27-Maharashtra"),
    ),
    case(
        "ch-seller-pb-consumer",
        CH_SELLER,
        PB_CONSUMER,
        (ex(100000),),
        expect(igst(100000, 18000), place="03-Punjab"),
    ),
    case(
        "ka-seller-mh-business-explicit-sacs",
        KA_SELLER,
        MH_BUSINESS,
        (ex(100000, "998315"), ex(50000, "997331")),
        expect(igst(100000, 18000), igst(50000, 9000), place="27-Maharashtra"),
    ),
    # --- export of services (IGST Act s. 2(6), 16) ----------------------------------------------
    case(
        "ka-seller-us-company-with-lut",
        KA_SELLER,
        US_COMPANY,
        (ex(100000),),
        expect(igst(100000, 0, "0.00"), place=EXPORT, notes=(LUT_EXPORT,)),
        lut=True,
        currency="USD",
    ),
    case(
        "ka-seller-us-company-without-lut",
        KA_SELLER,
        US_COMPANY,
        (ex(100000),),
        expect(igst(100000, 18000), place=EXPORT, notes=(PAID_EXPORT,)),
        currency="USD",
    ),
    case(
        "ka-seller-us-company-with-lut-inclusive",
        KA_SELLER,
        US_COMPANY,
        (inc(100000),),
        expect(igst(100000, 0, "0.00"), place=EXPORT, notes=(LUT_EXPORT,)),
        lut=True,
    ),
    case(
        "ka-seller-us-company-without-lut-inclusive",
        KA_SELLER,
        US_COMPANY,
        (inc(118000),),
        expect(igst(100000, 18000), place=EXPORT, notes=(PAID_EXPORT,)),
    ),
    case(
        "ka-seller-de-consumer-export-without-eu-registration",
        KA_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(igst(100000, 0, "0.00"), place=EXPORT, notes=(LUT_EXPORT,)),
        lut=True,
        currency="EUR",
    ),
    # --- SEZ units: always IGST (IGST Act s. 7(5)(b)) -------------------------------------------
    case(
        "ka-seller-ka-sez-with-lut",
        KA_SELLER,
        KA_SEZ,
        (ex(100000),),
        expect(igst(100000, 0, "0.00"), place=KA, notes=(in_gst.NOTE_SEZ_LUT,)),
        lut=True,
    ),
    case(
        "ka-seller-ka-sez-without-lut",
        KA_SELLER,
        KA_SEZ,
        (ex(100000),),
        expect(igst(100000, 18000), place=KA, notes=(in_gst.NOTE_SEZ_PAID,)),
    ),
    case(
        "ka-seller-tn-sez-with-lut",
        KA_SELLER,
        TN_SEZ,
        (ex(100000),),
        expect(igst(100000, 0, "0.00"), place="33-Tamil Nadu", notes=(in_gst.NOTE_SEZ_LUT,)),
        lut=True,
    ),
    case(
        "ka-seller-tn-sez-without-lut",
        KA_SELLER,
        TN_SEZ,
        (ex(100000),),
        expect(igst(100000, 18000), place="33-Tamil Nadu", notes=(in_gst.NOTE_SEZ_PAID,)),
    ),
    case(
        "ch-seller-sez-in-chandigarh-without-lut-no-utgst",
        CH_SELLER,
        Party("IN", "CH", None, None, sez=True),
        (inc(118000),),
        expect(igst(100000, 18000), place="04-Chandigarh", notes=(in_gst.NOTE_SEZ_PAID,)),
    ),
    # --- rounding per line ----------------------------------------------------------------------
    case(
        # ten lines of ₹0.55: 9.9 paise of IGST each rounds to 10, so ₹1.00 in all, where 18%
        # of the ₹5.50 total would be 99 paise.
        "per-line-rounding-inter-state-ten-lines-of-55-paise",
        KA_SELLER,
        MH_BUSINESS,
        tuple(ex(55) for _ in range(10)),
        expect(*(igst(55, 10) for _ in range(10)), place="27-Maharashtra"),
    ),
    case(
        # three lines of ₹0.50: 4.5 paise of CGST and of SGST each round to 5, so 15 paise of
        # each in all, where 9% of the ₹1.50 total would be 13.5, i.e. 14.
        "per-line-rounding-intra-state-three-lines-of-50-paise",
        KA_SELLER,
        KA_CONSUMER,
        (ex(50), ex(50), ex(50)),
        expect(*(cgst_sgst(50, "KA", 5) for _ in range(3)), place=KA),
    ),
    case(
        "mixed-exclusive-inclusive-and-credit-lines",
        KA_SELLER,
        KA_CONSUMER,
        (ex(100000), inc(11800), ex(-20000), ex(0)),
        expect(
            cgst_sgst(100000, "KA", 9000),
            cgst_sgst(10000, "KA", 900),
            cgst_sgst(-20000, "KA", -1800),
            cgst_sgst(0, "KA", 0),
            place=KA,
        ),
    ),
    case(
        "credit-line-on-an-export-without-lut",
        KA_SELLER,
        US_COMPANY,
        (ex(-100000),),
        expect(igst(-100000, -18000), place=EXPORT, notes=(PAID_EXPORT,)),
    ),
]

EU = [
    # --- an EU-established seller: consumers pay their own country's rate (art. 58) ------------
    case(
        "de-seller-fr-consumer",
        DE_SELLER,
        FR_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "FR", "20.00", 20000), place="FR"),
        registrations=DE_VAT,
        currency="EUR",
    ),
    case(
        "de-seller-it-consumer",
        DE_SELLER,
        IT_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "IT", "22.00", 22000), place="IT"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-hu-consumer",
        DE_SELLER,
        HU_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "HU", "27.00", 27000), place="HU"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-fi-consumer-fractional-rate",
        DE_SELLER,
        FI_CONSUMER,
        (ex(999),),
        expect(vat(999, "FI", "25.50", 255), place="FI"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-gr-consumer",
        DE_SELLER,
        GR_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "GR", "24.00", 24000), place="GR"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-de-consumer-domestic",
        DE_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "DE", "19.00", 19000), place="DE"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-fr-consumer-inclusive",
        DE_SELLER,
        FR_CONSUMER,
        (inc(1200),),
        expect(vat(1000, "FR", "20.00", 200), place="FR"),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-fi-consumer-per-line-rounding",
        DE_SELLER,
        FI_CONSUMER,
        (ex(1), ex(2), ex(3)),
        expect(
            vat(1, "FI", "25.50", 0),
            vat(2, "FI", "25.50", 1),
            vat(3, "FI", "25.50", 1),
            place="FI",
        ),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-ee-consumer-day-before-the-rise",
        DE_SELLER,
        EE_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "EE", "22.00", 22000), place="EE"),
        registrations=DE_VAT,
        on=date(2025, 6, 30),
    ),
    case(
        "de-seller-ee-consumer-day-of-the-rise",
        DE_SELLER,
        EE_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "EE", "24.00", 24000), place="EE"),
        registrations=DE_VAT,
        on=date(2025, 7, 1),
    ),
    # --- businesses: reverse charge in another member state, domestic VAT in the seller's -------
    case(
        "de-seller-fr-business-reverse-charge",
        DE_SELLER,
        FR_BUSINESS,
        (ex(100000),),
        expect(vat(100000, "FR", "0.00", 0), place="FR", reverse_charge=True, notes=(EU_RC,)),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-gr-business-el-vat-number",
        DE_SELLER,
        GR_BUSINESS,
        (inc(100000),),
        expect(vat(100000, "GR", "0.00", 0), place="GR", reverse_charge=True, notes=(EU_RC,)),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-de-business-domestic-not-reverse-charge",
        DE_SELLER,
        DE_BUSINESS,
        (ex(100000),),
        expect(vat(100000, "DE", "19.00", 19000), place="DE"),
        registrations=DE_VAT,
    ),
    # --- outside the EU ------------------------------------------------------------------------
    case(
        "de-seller-us-company-out-of-scope",
        DE_SELLER,
        US_COMPANY,
        (ex(100000),),
        expect(untaxed(100000), place="US", notes=(OUTSIDE_EU,)),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-gb-consumer-out-of-scope",
        DE_SELLER,
        GB_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place="GB", notes=(OUTSIDE_EU,)),
        registrations=DE_VAT,
    ),
    case(
        "de-seller-indian-business-out-of-scope",
        DE_SELLER,
        MH_BUSINESS,
        (inc(100000),),
        expect(untaxed(100000), place="IN", notes=(OUTSIDE_EU,)),
        registrations=DE_VAT,
    ),
    # --- a seller outside the EU on the non-Union OSS -----------------------------------------
    case(
        "us-seller-oss-de-consumer",
        US_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "DE", "19.00", 19000), place="DE"),
        registrations=NON_UNION_OSS,
        currency="USD",
    ),
    case(
        "us-seller-oss-nl-business-reverse-charge",
        US_SELLER,
        NL_BUSINESS,
        (ex(100000),),
        expect(vat(100000, "NL", "0.00", 0), place="NL", reverse_charge=True, notes=(EU_RC,)),
        registrations=NON_UNION_OSS,
    ),
    case(
        "us-seller-oss-us-company-nothing",
        US_SELLER,
        US_COMPANY,
        (ex(100000),),
        expect(untaxed(100000), place=None),
        registrations=NON_UNION_OSS,
    ),
    case(
        "us-seller-oss-gb-consumer-nothing",
        US_SELLER,
        GB_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place=None),
        registrations=NON_UNION_OSS,
    ),
]

UK = [
    case(
        "gb-seller-gb-consumer",
        GB_SELLER,
        GB_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "GB", "20.00", 20000), place="GB"),
        registrations=GB_VAT,
        currency="GBP",
    ),
    case(
        "gb-seller-gb-business-domestic",
        GB_SELLER,
        GB_BUSINESS,
        (ex(100000),),
        expect(vat(100000, "GB", "20.00", 20000), place="GB"),
        registrations=GB_VAT,
    ),
    case(
        "gb-seller-gb-consumer-inclusive",
        GB_SELLER,
        GB_CONSUMER,
        (inc(1199),),
        expect(vat(999, "GB", "20.00", 200), place="GB"),
        registrations=GB_VAT,
    ),
    case(
        "gb-seller-de-consumer-out-of-scope",
        GB_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place="DE", notes=(OUTSIDE_UK,)),
        registrations=GB_VAT,
    ),
    case(
        "gb-seller-with-oss-de-consumer",
        GB_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "DE", "19.00", 19000), place="DE", notes=(OUTSIDE_UK,)),
        registrations=GB_VAT + NON_UNION_OSS,
    ),
    case(
        "us-seller-gb-vat-gb-consumer",
        US_SELLER,
        GB_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "GB", "20.00", 20000), place="GB"),
        registrations=GB_VAT,
    ),
    case(
        "us-seller-gb-vat-gb-business-reverse-charge",
        US_SELLER,
        GB_BUSINESS,
        (ex(100000),),
        expect(vat(100000, "GB", "0.00", 0), place="GB", reverse_charge=True, notes=(UK_RC,)),
        registrations=GB_VAT,
    ),
    case(
        "us-seller-gb-vat-fr-consumer-nothing",
        US_SELLER,
        FR_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place=None),
        registrations=GB_VAT,
    ),
]

COMBINED = [
    case(
        "ka-seller-with-oss-de-consumer-lut",
        KA_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(
            line(100000, ("IGST", "0.00", "IN", 0), ("VAT", "19.00", "DE", 19000)),
            place=EXPORT,
            notes=(LUT_EXPORT,),
        ),
        lut=True,
        registrations=KA_OSS,
        currency="EUR",
    ),
    case(
        "ka-seller-with-oss-de-consumer-without-lut",
        KA_SELLER,
        DE_CONSUMER,
        (inc(13700),),
        expect(
            line(10000, ("IGST", "18.00", "IN", 1800), ("VAT", "19.00", "DE", 1900)),
            place=EXPORT,
            notes=(PAID_EXPORT,),
        ),
        registrations=KA_OSS,
    ),
    case(
        "ka-seller-with-oss-nl-business-lut",
        KA_SELLER,
        NL_BUSINESS,
        (ex(100000),),
        expect(
            line(100000, ("IGST", "0.00", "IN", 0), ("VAT", "0.00", "NL", 0)),
            place=EXPORT,
            reverse_charge=True,
            notes=(LUT_EXPORT, EU_RC),
        ),
        lut=True,
        registrations=KA_OSS,
    ),
    case(
        "ka-seller-with-oss-us-company-lut",
        KA_SELLER,
        US_COMPANY,
        (ex(100000),),
        expect(igst(100000, 0, "0.00"), place=EXPORT, notes=(LUT_EXPORT,)),
        lut=True,
        registrations=KA_OSS,
    ),
    case(
        "ka-seller-with-oss-ka-consumer",
        KA_SELLER,
        KA_CONSUMER,
        (ex(100000),),
        expect(cgst_sgst(100000, "KA", 9000), place=KA),
        registrations=KA_OSS,
    ),
    case(
        "ka-seller-with-gb-vat-gb-business-lut",
        KA_SELLER,
        GB_BUSINESS,
        (ex(100000),),
        expect(
            line(100000, ("IGST", "0.00", "IN", 0), ("VAT", "0.00", "GB", 0)),
            place=EXPORT,
            reverse_charge=True,
            notes=(LUT_EXPORT, UK_RC),
        ),
        lut=True,
        registrations=KA_GB_VAT,
    ),
    case(
        "de-seller-with-gb-vat-gb-consumer",
        DE_SELLER,
        GB_CONSUMER,
        (ex(100000),),
        expect(vat(100000, "GB", "20.00", 20000), place="GB", notes=(OUTSIDE_EU,)),
        registrations=DE_VAT + GB_VAT,
    ),
]

NO_REGISTRATION = [
    case(
        "us-seller-no-registration-de-consumer",
        US_SELLER,
        DE_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place=None),
    ),
    case(
        "us-seller-no-registration-sg-company",
        US_SELLER,
        SG_COMPANY,
        (ex(100000),),
        expect(untaxed(100000), place=None),
    ),
    case(
        "unregistered-indian-seller-ka-consumer",
        IN_UNREGISTERED,
        KA_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place=None),
    ),
    case(
        "de-seller-without-registration-fr-consumer",
        DE_SELLER,
        FR_CONSUMER,
        (ex(100000),),
        expect(untaxed(100000), place=None),
    ),
    case(
        "gb-seller-without-registration-gb-consumer",
        GB_SELLER,
        GB_CONSUMER,
        (inc(1200),),
        expect(untaxed(1200), place=None),
    ),
    case(
        "us-seller-no-registration-indian-buyer-without-state",
        US_SELLER,
        Party("IN", None, None, None),
        (ex(100000),),
        expect(untaxed(100000), place=None),
    ),
]

ALL = INDIA + EU + UK + COMBINED + NO_REGISTRATION


@pytest.mark.parametrize("c", ALL)
def test_decision(c: Case) -> None:
    got = decide(
        c.seller,
        c.buyer,
        c.currency,
        c.lines,
        c.on,
        seller_lut=c.lut,
        seller_registrations=c.registrations,
    )
    assert got == c.expected


def test_there_are_at_least_forty_decisions() -> None:
    assert len(ALL) >= 40


def test_an_invoice_without_lines_still_gets_its_invoice_level_facts() -> None:
    got = decide(KA_SELLER, US_COMPANY, "USD", [], ON, seller_lut=True, seller_registrations=())
    assert got == expect(place=EXPORT, notes=(LUT_EXPORT,))
