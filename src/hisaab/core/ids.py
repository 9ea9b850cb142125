"""Opaque, prefixed, time-sortable identifiers (`cus_01jd…`).

The prefix tells a human what an id points at; the body is a ULID (48-bit millisecond time +
80 random bits in Crockford base32), so ids sort by creation and serve as pagination cursors.
"""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_BODY_LENGTH = 26

PREFIXES = frozenset(
    {
        "ten", "key", "cus", "pm", "prod", "plan", "sub", "in", "cn", "pay", "evt", "we",
        "clock", "mtr", "coupon", "aud", "req", "il", "ii", "cbt", "je", "cnl", "msg", "rf", "gwe",
        "whd", "wha", "bb",
    }
)  # fmt: skip


# Every pair of characters, indexed by the 10 bits they stand for: 13 lookups instead of 26
# divisions (ids are made for every event and row a billing run writes).
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]
_PAIR_SHIFTS = range(_BODY_LENGTH * 5 - 10, -1, -10)


def _encode(value: int) -> str:
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def new_id(prefix: str) -> str:
    """A fresh id such as `ten_01jd3k…`; later calls sort after earlier ones (per millisecond)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_encode((millis << 80) | secrets.randbits(80))}"


# A prefix and a body of the alphabet's characters (ASCII only: `re.ASCII` is implied by the
# explicit ranges); one match instead of a generator over 26 characters, for every id looked up.
_SHAPE = re.compile(rf"([a-z]+)_[{_ALPHABET}]{{{_BODY_LENGTH}}}")


def looks_like(prefix: str, value: str) -> bool:
    """Whether `value` has the shape of an id with this prefix (no lookup)."""
    shape = _SHAPE.fullmatch(value)
    return shape is not None and shape.group(1) == prefix
