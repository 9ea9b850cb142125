"""What other domains may ask the tax domain (DESIGN: domains meet only through service.py)."""

from hisaab.tax.assessment import (
    Assessment,
    LineTax,
    Party,
    TaxableLine,
    TaxComponent,
)
from hisaab.tax.engine import decide as assess
from hisaab.tax.identity import (
    EU_MEMBER_STATES,
    REGISTRATION_SCHEMES,
    Gstin,
    Location,
    TaxIdentityError,
    VatId,
    country_code,
    gstin,
    location,
    registration_number,
    state_code,
    vat_id,
)
from hisaab.tax.in_states import BY_GST_CODE, BY_ISO, IndianState
from hisaab.tax.levies import Levy, line_tax
from hisaab.tax.rates import GST_SERVICES
from hisaab.tax.rounding import round_half_up

__all__ = [
    "BY_GST_CODE",
    "BY_ISO",
    "EU_MEMBER_STATES",
    "GST_SERVICES",
    "REGISTRATION_SCHEMES",
    "Assessment",
    "Gstin",
    "IndianState",
    "Levy",
    "LineTax",
    "Location",
    "Party",
    "TaxComponent",
    "TaxIdentityError",
    "TaxableLine",
    "VatId",
    "assess",
    "country_code",
    "gstin",
    "line_tax",
    "location",
    "registration_number",
    "round_half_up",
    "state_code",
    "vat_id",
]
