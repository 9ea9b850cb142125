"""India GST on services supplied by a registered supplier: which taxes, at what rate, and what
the invoice must say. Pure: parties, lines and a date in, a `Treatment` out.

The decision follows the IGST Act's test of where a supply takes place:

- place of supply of services to a recipient in India is the recipient's location (IGST Act
  s. 12(2): a registered recipient's location, else the address on record). API.md makes that
  the state of the recipient's GSTIN, else its billing `state`, and refuses an Indian customer
  with neither (422 `state_required`), so meeting one here is a caller bug: ValueError;
- supplier's state == place of supply → intra-State (IGST Act s. 8(2)): CGST (CGST Act s. 9)
  + SGST (the State's GST Act) at half the rate each, or CGST + UTGST (UTGST Act s. 7) where
  the supplier is in a union territory without legislature (`in_states.py`);
- different states → inter-State (IGST Act s. 7(3)): IGST at the full rate;
- a recipient outside India → export of services (IGST Act s. 2(6), place of supply the
  recipient's location under s. 13(2) and, for online services, s. 13(12)) → a zero-rated
  supply (IGST Act s. 16(1)(a)). Under a bond or Letter of Undertaking (s. 16(3)(a), rule 96A)
  no IGST is charged (IGST at 0%); without one, IGST is charged at the full rate and refunded to
  the supplier later (s. 16(3)(b)). Either way it is an inter-State supply (s. 7(5)(a)), so
  never CGST/SGST;
- a Special Economic Zone unit or developer → always inter-State (IGST Act s. 7(5)(b)), even in
  the supplier's own state, and zero-rated (s. 16(1)(b)): IGST at 0% under LUT, at the full rate
  without.

No supply here is under reverse charge: none of these services is notified under CGST Act
s. 9(3) / IGST Act s. 5(3) (Notification 13/2017-Central Tax (Rate), 10/2017-Integrated Tax
(Rate)), so the supplier pays the tax and `reverse_charge` is False.

What the engine cannot see and leaves to the tenant: the export conditions of s. 2(6)(iv) and
(v) (payment received in convertible foreign exchange, or in rupees where the RBI permits;
supplier and recipient not establishments of one person). An invoice is issued before payment,
and rule 96A(1)(b) already gives the exporter a year to realise it.

The invoice wording is rule 46 of the CGST Rules: its export proviso wants the endorsement
"SUPPLY MEANT FOR EXPORT/SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS ON PAYMENT
OF INTEGRATED TAX" or "... UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED
TAX", "as the case may be"; the note printed is the applicable half, verbatim in capitals.
Rule 46(n) wants the place of supply "along with the name of the State" for inter-State
supplies, and clause (e) the "name of the State and its code" for unregistered recipients, so
the place of supply is written `"29-Karnataka"`: the GST state code, a hyphen, the state's name
(the form of the GST portal's place-of-supply list), and `"96-Foreign Country"` for an export,
96 being the code GSTR-1 and the e-invoice schema use for a place of supply outside India.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from hisaab.tax.assessment import Party, TaxableLine
from hisaab.tax.identity import gstin as parse_gstin
from hisaab.tax.in_states import BY_ISO, IndianState
from hisaab.tax.levies import Levy, Treatment
from hisaab.tax.rates import gst_rate

__all__ = [
    "EXPORT_PLACE_OF_SUPPLY",
    "NOTE_EXPORT_LUT",
    "NOTE_EXPORT_PAID",
    "NOTE_SEZ_LUT",
    "NOTE_SEZ_PAID",
    "REGIME",
    "place_of_supply_label",
    "recipient_state",
    "supplier_state",
    "supply_kind",
    "treat",
]

REGIME = "in_gst"
EXPORT_PLACE_OF_SUPPLY = "96-Foreign Country"
NOTE_EXPORT_PAID = "SUPPLY MEANT FOR EXPORT ON PAYMENT OF INTEGRATED TAX"
NOTE_EXPORT_LUT = (
    "SUPPLY MEANT FOR EXPORT UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX"
)
NOTE_SEZ_PAID = (
    "SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS ON PAYMENT OF INTEGRATED TAX"
)
NOTE_SEZ_LUT = (
    "SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS UNDER BOND OR LETTER OF "
    "UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX"
)
_ZERO = Decimal(0)
_HALF = Decimal(2)


def place_of_supply_label(state: IndianState) -> str:
    """`"29-Karnataka"`: the state code and name rule 46 wants (see the module docstring)."""
    return f"{state.gst_code}-{state.name}"


def supplier_state(gstin: str) -> IndianState:
    """The supplier's state is the one its GSTIN is registered in (its first two digits).

    Codes retired by reorganisation (25 Daman and Diu, 28 undivided Andhra Pradesh) resolve to
    the state that now holds them, whose current code the invoice then prints.
    """
    return BY_ISO[parse_gstin(gstin).state]


def recipient_state(buyer: Party) -> IndianState:
    """The place of supply of an Indian recipient: its GSTIN's state, else its billing state."""
    if buyer.gstin:
        return BY_ISO[parse_gstin(buyer.gstin).state]
    if buyer.state:
        code = buyer.state.strip().upper().removeprefix("IN-")
        state = BY_ISO.get(code)
        if state is None:
            raise ValueError(f"{buyer.state!r} is not an Indian state or union territory code")
        return state
    raise ValueError(
        "an Indian recipient without a GSTIN needs its state: it is the place of supply "
        "(IGST Act s. 12(2)); the customer rules should have refused it (state_required)"
    )


def supply_kind(seller_state: IndianState, buyer: Party) -> str:
    """`intra_state`, `inter_state`, `sez` or `export`: the four ways the Act taxes a service."""
    if buyer.country != "IN":
        return "export"
    if buyer.sez:
        return "sez"
    if recipient_state(buyer) == seller_state:
        return "intra_state"
    return "inter_state"


def treat(
    seller_gstin: str,
    buyer: Party,
    lines: Sequence[TaxableLine],
    on: date,
    *,
    lut: bool,
) -> Treatment:
    """The GST levies of each line and what the invoice must say (see the module docstring).

    The rate comes from each line's SAC even where the supply is zero-rated: a zero-rated
    supply is a taxable supply at 0% under LUT, and an unknown service is an error in both cases
    rather than an export that happens to be untaxed.
    """
    seller = supplier_state(seller_gstin)
    kind = supply_kind(seller, buyer)
    rates = [gst_rate(line.sac_code, on) for line in lines]
    notes: tuple[str, ...] = ()
    if kind == "export":
        place = EXPORT_PLACE_OF_SUPPLY
        notes = (NOTE_EXPORT_LUT if lut else NOTE_EXPORT_PAID,)
    else:
        place = place_of_supply_label(recipient_state(buyer))
        if kind == "sez":
            notes = (NOTE_SEZ_LUT if lut else NOTE_SEZ_PAID,)
    levies: list[tuple[Levy, ...]] = []
    for rate in rates:
        if kind == "intra_state":
            state_tax = "UTGST" if seller.ut_without_legislature else "SGST"
            half = rate / _HALF
            levies.append(
                (
                    Levy("CGST", half, seller.iso_code),
                    Levy(state_tax, half, seller.iso_code),
                )
            )
        elif kind == "inter_state":
            levies.append((Levy("IGST", rate, "IN"),))
        else:  # export or SEZ: zero-rated, IGST only
            levies.append((Levy("IGST", _ZERO if lut else rate, "IN"),))
    return Treatment(
        regime=REGIME,
        levies=tuple(levies),
        place_of_supply=place,
        reverse_charge=False,
        notes=notes,
    )
