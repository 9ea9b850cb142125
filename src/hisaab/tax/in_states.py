"""Indian states and union territories: GST state code, ISO 3166-2 code, and whether a UT has
no legislature (its intra-state supplies carry UTGST instead of SGST). Data, not logic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndianState:
    gst_code: str
    iso_code: str  # the part after "IN-"
    name: str
    ut_without_legislature: bool = False


STATES: tuple[IndianState, ...] = (
    IndianState("01", "JK", "Jammu and Kashmir"),
    IndianState("02", "HP", "Himachal Pradesh"),
    IndianState("03", "PB", "Punjab"),
    IndianState("04", "CH", "Chandigarh", ut_without_legislature=True),
    IndianState("05", "UK", "Uttarakhand"),
    IndianState("06", "HR", "Haryana"),
    IndianState("07", "DL", "Delhi"),
    IndianState("08", "RJ", "Rajasthan"),
    IndianState("09", "UP", "Uttar Pradesh"),
    IndianState("10", "BR", "Bihar"),
    IndianState("11", "SK", "Sikkim"),
    IndianState("12", "AR", "Arunachal Pradesh"),
    IndianState("13", "NL", "Nagaland"),
    IndianState("14", "MN", "Manipur"),
    IndianState("15", "MZ", "Mizoram"),
    IndianState("16", "TR", "Tripura"),
    IndianState("17", "ML", "Meghalaya"),
    IndianState("18", "AS", "Assam"),
    IndianState("19", "WB", "West Bengal"),
    IndianState("20", "JH", "Jharkhand"),
    IndianState("21", "OD", "Odisha"),
    IndianState("22", "CG", "Chhattisgarh"),
    IndianState("23", "MP", "Madhya Pradesh"),
    IndianState("24", "GJ", "Gujarat"),
    IndianState(
        "26", "DH", "Dadra and Nagar Haveli and Daman and Diu", ut_without_legislature=True
    ),
    IndianState("27", "MH", "Maharashtra"),
    IndianState("29", "KA", "Karnataka"),
    IndianState("30", "GA", "Goa"),
    IndianState("31", "LD", "Lakshadweep", ut_without_legislature=True),
    IndianState("32", "KL", "Kerala"),
    IndianState("33", "TN", "Tamil Nadu"),
    IndianState("34", "PY", "Puducherry"),
    IndianState("35", "AN", "Andaman and Nicobar Islands", ut_without_legislature=True),
    IndianState("36", "TS", "Telangana"),
    IndianState("37", "AP", "Andhra Pradesh"),
    IndianState("38", "LA", "Ladakh", ut_without_legislature=True),
)

# Codes still found in older GSTINs: 25 (Daman and Diu, merged into 26 in 2020) and 28 (Andhra
# Pradesh before 2014); 97 (Other Territory) has no ISO subdivision.
LEGACY_GST_CODES = {"25": "DH", "28": "AP"}

BY_ISO = {s.iso_code: s for s in STATES}
BY_GST_CODE = {s.gst_code: s for s in STATES} | {
    code: BY_ISO[iso] for code, iso in LEGACY_GST_CODES.items()
}
