"""Sellers, buyers and registrations the tax engine tests share: real-looking, valid numbers."""

from __future__ import annotations

from datetime import date

from stdnum import luhn

from hisaab.tax.assessment import Party

GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SELLER_PAN = "AAACA1234A"  # companies (fourth letter C)
BUYER_PAN = "AABCB5678B"
OTHER_PAN = "AADCC9012C"

ON = date(2026, 1, 15)  # a day on which every rate of the 2026-01-01 table is in force


def make_gstin(state_code: str, pan: str = SELLER_PAN, entity: str = "1") -> str:
    """A GSTIN with a correct Luhn mod 36 check character (as GSTN computes it)."""
    body = f"{state_code}{pan}{entity}Z"
    return body + luhn.calc_check_digit(body, GSTIN_ALPHABET)


# --- Indian sellers (GST-registered) ----------------------------------------------------------

KA_SELLER = Party("IN", "KA", make_gstin("29"), None)  # Karnataka, a state
CH_SELLER = Party("IN", "CH", make_gstin("04"), None)  # Chandigarh, a UT without legislature
DL_SELLER = Party("IN", "DL", make_gstin("07"), None)  # Delhi, a UT with legislature
LA_SELLER = Party("IN", "LA", make_gstin("38"), None)  # Ladakh, code 38 (not in stdnum's table)
DD_SELLER = Party("IN", "DH", make_gstin("25"), None)  # an old Daman and Diu GSTIN (now 26)
IN_UNREGISTERED = Party("IN", "KA", None, None)  # below the GST threshold

# --- Indian buyers ------------------------------------------------------------------------------

KA_CONSUMER = Party("IN", "KA", None, None)
KA_BUSINESS = Party("IN", None, make_gstin("29", BUYER_PAN), None)
MH_BUSINESS = Party("IN", None, make_gstin("27", BUYER_PAN), None)
MH_CONSUMER = Party("IN", "IN-MH", None, None)  # ISO 3166-2 with its country prefix
CH_CONSUMER = Party("IN", "CH", None, None)
PB_CONSUMER = Party("IN", "PB", None, None)
DL_CONSUMER = Party("IN", "DL", None, None)
LA_CONSUMER = Party("IN", "LA", None, None)
DH_CONSUMER = Party("IN", "DH", None, None)
KA_SEZ = Party("IN", None, make_gstin("29", OTHER_PAN), None, sez=True)
TN_SEZ = Party("IN", None, make_gstin("33", OTHER_PAN), None, sez=True)
IN_NO_STATE = Party("IN", None, None, None)

# --- buyers elsewhere ------------------------------------------------------------------------

US_COMPANY = Party("US", "CA", None, None)
SG_COMPANY = Party("SG", None, None, None)
DE_CONSUMER = Party("DE", None, None, None)
FR_CONSUMER = Party("FR", None, None, None)
IT_CONSUMER = Party("IT", None, None, None)
HU_CONSUMER = Party("HU", None, None, None)
FI_CONSUMER = Party("FI", None, None, None)
EE_CONSUMER = Party("EE", None, None, None)
GR_CONSUMER = Party("GR", None, None, None)
DE_BUSINESS = Party("DE", None, None, "DE129273398")
FR_BUSINESS = Party("FR", None, None, "FR40303265045")
NL_BUSINESS = Party("NL", None, None, "NL004495445B01")
GR_BUSINESS = Party("GR", None, None, "EL094259216")
GB_CONSUMER = Party("GB", None, None, None)
GB_BUSINESS = Party("GB", None, None, "GB980780684")

# --- sellers elsewhere and their registrations ----------------------------------------------------

DE_SELLER = Party("DE", None, None, None)
DE_VAT = (("eu_vat", "DE136695976"),)
US_SELLER = Party("US", "DE", None, None)
NON_UNION_OSS = (("eu_oss", "EU372000041"),)
GB_SELLER = Party("GB", None, None, None)
GB_VAT = (("gb_vat", "GB980780684"),)
