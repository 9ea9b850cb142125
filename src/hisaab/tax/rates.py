"""Tax rates as data, each with the date from which it is in force. Data, not logic.

A rate applies to a supply by the date of that supply (the invoice date the caller passes:
CGST Act s. 13 and s. 14 for a change of rate, Directive 2006/112/EC art. 63-66 and VATA 1994
s. 88), so every rate carries an effective-from date and a rate change is a new period, never
an edit: an invoice issued before the change must still recompute to what it said. A period
runs until the next one of the same key starts; before a key's first period there is no rate,
and asking for one is an error rather than a guess.

Sources. India: Notification 11/2017-Central Tax (Rate) of 28 June 2017, in force with GST on
1 July 2017 (CGST 9% + SGST 9% = IGST 18% for the services below); the rate rationalisation of
22 September 2025 left them at 18%. EU standard rates: European Commission, Taxes in Europe
Database (TEDB) and DG TAXUD "VAT rates applied in the Member States" (2021-06 edition, section
VIII, evolution of rates); Germany's 2020 cut from the Zweites Corona-Steuerhilfegesetz art. 3
(UStG s. 12). Each member state's table starts with the rate in force on 1 January 2015, when
the place of B2C electronically supplied services moved to the consumer's member state
(Directive 2008/8/EC art. 5, amending Directive 2006/112/EC art. 58), and lists every standard
rate change since; earlier dates are outside what the engine decides. UK: 20% since
4 January 2011 (Finance (No. 2) Act 2010 s. 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "DEFAULT_SAC",
    "EU_VAT_STANDARD",
    "GB_VAT_STANDARD",
    "GST_RATES",
    "GST_SERVICES",
    "NoRateInForce",
    "RatePeriod",
    "eu_vat_rate",
    "gb_vat_rate",
    "gst_rate",
    "in_force",
]


class NoRateInForce(ValueError):
    """No rate of `regime` for `key` on `on`: the supply cannot be taxed by a guess."""

    def __init__(self, regime: str, key: str, on: date, detail: str) -> None:
        super().__init__(f"no {regime} rate in force for {key} on {on.isoformat()}: {detail}")
        self.regime = regime
        self.key = key
        self.on = on


@dataclass(frozen=True)
class RatePeriod:
    start: date  # first day on which `rate` applies
    rate: Decimal  # percent, e.g. Decimal("18")


def _periods(*pairs: tuple[str, str]) -> tuple[RatePeriod, ...]:
    return tuple(RatePeriod(date.fromisoformat(start), Decimal(rate)) for start, rate in pairs)


def in_force(periods: Sequence[RatePeriod], on: date) -> RatePeriod | None:
    """The period covering `on` (periods sorted by start), or None before the first."""
    found: RatePeriod | None = None
    for period in periods:
        if period.start > on:
            break
        found = period
    return found


# --- India: GST on the services a SaaS company supplies --------------------------------------

# SAC (Scheme of Classification of Services, Notification 11/2017-CT(Rate) annexure) → what it
# covers. Listed one by one rather than by heading because a heading is not one rate: 9985
# holds tour operators at 5%, 9997 beauty and fitness services at 5% since September 2025.
GST_SERVICES: Mapping[str, str] = {
    "997331": "Licensing services for the right to use computer software and databases",
    "998311": "Management consulting and management services",
    "998312": "Business consulting services including public relations services",
    "998313": "Information technology (IT) consulting and support services",
    "998314": "Information technology (IT) design and development services",
    "998315": "Hosting and information technology (IT) infrastructure provisioning services",
    "998316": "IT infrastructure and network management services",
    "998319": "Other information technology services nowhere else classified",
    "998399": "Other professional, technical and business services nowhere else classified",
    "998431": "On-line text based information such as online books, newspapers, directories",
    "998432": "On-line audio content",
    "998433": "On-line video content",
    "998434": "Software downloads",
    "998439": "Other on-line contents nowhere else classified",
    "998599": "Other support services nowhere else classified",
    "999293": "Commercial training and coaching services",
    "999799": "Other services nowhere else classified",
}

# API.md: "SAC 998314 unless the plan says otherwise".
DEFAULT_SAC = "998314"

_GST_SAAS = _periods(("2017-07-01", "18"))
GST_RATES: Mapping[str, tuple[RatePeriod, ...]] = dict.fromkeys(GST_SERVICES, _GST_SAAS)


def gst_rate(sac: str | None, on: date) -> Decimal:
    """The full GST rate (IGST; CGST and SGST/UTGST are half each) of a service on `on`."""
    code = DEFAULT_SAC if sac is None else sac.strip()
    periods = GST_RATES.get(code)
    if periods is None:
        raise NoRateInForce(
            "GST", f"SAC {code}", on, "the rate table has no such service; add it to tax/rates.py"
        )
    period = in_force(periods, on)
    if period is None:
        raise NoRateInForce("GST", f"SAC {code}", on, f"GST applies from {periods[0].start}")
    return period.rate


# --- EU: standard VAT rate of each member state ----------------------------------------------

EU_VAT_STANDARD: Mapping[str, tuple[RatePeriod, ...]] = {
    "AT": _periods(("1984-01-01", "20")),
    "BE": _periods(("1996-01-01", "21")),
    "BG": _periods(("1999-01-01", "20")),
    "CY": _periods(("2014-01-13", "19")),
    "CZ": _periods(("2013-01-01", "21")),
    # 16% for the second half of 2020 (Zweites Corona-Steuerhilfegesetz).
    "DE": _periods(("2007-01-01", "19"), ("2020-07-01", "16"), ("2021-01-01", "19")),
    "DK": _periods(("1992-01-01", "25")),
    "EE": _periods(("2009-07-01", "20"), ("2024-01-01", "22"), ("2025-07-01", "24")),
    "ES": _periods(("2012-09-01", "21")),
    "FI": _periods(("2013-01-01", "24"), ("2024-09-01", "25.5")),
    "FR": _periods(("2014-01-01", "20")),
    "GR": _periods(("2010-07-01", "23"), ("2016-06-01", "24")),  # VAT numbers say EL
    "HR": _periods(("2012-03-01", "25")),
    "HU": _periods(("2012-01-01", "27")),
    # 21% from September 2020 to February 2021 (the Irish COVID-19 stimulus).
    "IE": _periods(("2012-01-01", "23"), ("2020-09-01", "21"), ("2021-03-01", "23")),
    "IT": _periods(("2013-10-01", "22")),
    "LT": _periods(("2009-09-01", "21")),
    # 16% for 2023 only (the temporary cut of the Luxembourg "Solidaritéitspak 2.0").
    "LU": _periods(("2015-01-01", "17"), ("2023-01-01", "16"), ("2024-01-01", "17")),
    "LV": _periods(("2012-07-01", "21")),
    "MT": _periods(("2004-01-01", "18")),
    "NL": _periods(("2012-10-01", "21")),
    "PL": _periods(("2011-01-01", "23")),
    "PT": _periods(("2011-01-01", "23")),  # mainland; the Azores and Madeira have their own
    "RO": _periods(
        ("2010-07-01", "24"), ("2016-01-01", "20"), ("2017-01-01", "19"), ("2025-08-01", "21")
    ),
    "SE": _periods(("1990-07-01", "25")),
    "SI": _periods(("2013-07-01", "22")),
    "SK": _periods(("2011-01-01", "20"), ("2025-01-01", "23")),
}


def eu_vat_rate(country: str, on: date) -> Decimal:
    """The standard VAT rate of an EU member state on `on` (ISO code: GR, not EL)."""
    periods = EU_VAT_STANDARD.get(country)
    if periods is None:
        raise NoRateInForce("EU VAT", country, on, "not an EU member state")
    period = in_force(periods, on)
    if period is None:
        raise NoRateInForce(
            "EU VAT", country, on, f"the rate table for {country} starts on {periods[0].start}"
        )
    return period.rate


# --- United Kingdom --------------------------------------------------------------------------

GB_VAT_STANDARD: tuple[RatePeriod, ...] = _periods(("2011-01-04", "20"))


def gb_vat_rate(on: date) -> Decimal:
    """The UK standard VAT rate on `on`."""
    period = in_force(GB_VAT_STANDARD, on)
    if period is None:
        raise NoRateInForce(
            "UK VAT", "GB", on, f"the rate table starts on {GB_VAT_STANDARD[0].start}"
        )
    return period.rate
