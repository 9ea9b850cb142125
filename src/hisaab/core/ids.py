"""Opaque, prefixed, time-sortable identifiers (`cus_01jd…`).

The prefix tells a human what an id points at; the body is a ULID (48-bit millisecond time +
80 random bits in Crockford base32), so ids sort by creation and serve as pagination cursors.
"""

from __future__ import annotations

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


def _encode(value: int) -> str:
    chars = []
    for _ in range(_BODY_LENGTH):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A fresh id such as `ten_01jd3k…`; later calls sort after earlier ones (per millisecond)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_encode((millis << 80) | secrets.randbits(80))}"


def looks_like(prefix: str, value: str) -> bool:
    """Whether `value` has the shape of an id with this prefix (no lookup)."""
    head, sep, body = value.partition("_")
    return (
        sep == "_"
        and head == prefix
        and len(body) == _BODY_LENGTH
        and all(c in _ALPHABET for c in body)
    )
