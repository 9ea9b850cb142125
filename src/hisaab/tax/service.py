"""What other domains may ask the tax domain (DESIGN: domains meet only through service.py)."""

from hisaab.tax.assessment import (
    Assessment,
    LineTax,
    Party,
    TaxableLine,
    TaxComponent,
    assess,
)
from hisaab.tax.identity import (
    EU_MEMBER_STATES,
    REGISTRATION_SCHEMES,
    Gstin,
    TaxIdentityError,
    VatId,
    country_code,
    gstin,
    registration_number,
    state_code,
    vat_id,
)

__all__ = [
    "EU_MEMBER_STATES",
    "REGISTRATION_SCHEMES",
    "Assessment",
    "Gstin",
    "LineTax",
    "Party",
    "TaxComponent",
    "TaxIdentityError",
    "TaxableLine",
    "VatId",
    "assess",
    "country_code",
    "gstin",
    "registration_number",
    "state_code",
    "vat_id",
]
