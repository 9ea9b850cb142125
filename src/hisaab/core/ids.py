"""Opaque, prefixed, time-sortable identifiers (`cus_01jd…`).

The prefix tells a human what an id points at; the body is a ULID (48-bit millisecond time +
80 random bits in Crockford base32), so ids sort by creation and serve as pagination cursors.
"""

from __future__ import annotations

import os
import re
import threading
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


# Every pair of characters, indexed by the 10 bits they stand for: half as many lookups as
# characters (ids are made for every event and row a billing run writes).
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]
# The body is 2 zero bits, 48 bits of milliseconds and 80 random bits: 10 characters of time,
# then 16 of randomness, each part encoded on its own.
_TIME_CHARS = 10
_RANDOM_BITS = 80
_POOL_SIZE = 4096


def _encode(value: int, characters: int) -> str:
    return "".join(
        [_PAIRS[(value >> shift) & 1023] for shift in range(characters * 5 - 10, -1, -10)]
    )


_MAX_RANDOM = (1 << _RANDOM_BITS) - 1


def _random_values() -> list[int]:
    """Random parts from one read of the OS's randomness: one system call for every 4,096 ids,
    not one each (a billing run makes ~25 ids per subscription)."""
    pool = os.urandom(_POOL_SIZE * _RANDOM_BITS // 8)
    step = _RANDOM_BITS // 8
    return [int.from_bytes(pool[start : start + step]) for start in range(0, len(pool), step)]


class _Made:
    """What `new_id` keeps between calls, changed under `lock` only: the millisecond of the
    last id, its encoding, the last id's random part, and fresh random parts not yet used."""

    lock = threading.Lock()
    millis = -1
    stamp = ""
    last = 0
    pool: list[int] = []


def _forget() -> None:
    """A forked child must not go on from the parent's last id, nor use its pool: both would
    give the parent's next ids again."""
    _Made.lock = threading.Lock()
    _Made.millis = -1
    _Made.pool = []


os.register_at_fork(after_in_child=_forget)


def new_id(prefix: str) -> str:
    """A fresh id such as `ten_01jd3k…`; later calls sort after earlier ones: by millisecond
    across processes, and within a millisecond too in one process (the random part of the
    millisecond's first id, then counted up from it, as ULID's monotonic form does)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    with _Made.lock:
        if millis == _Made.millis and _Made.last < _MAX_RANDOM:
            value = _Made.last + 1
        else:
            if millis != _Made.millis:
                _Made.millis, _Made.stamp = millis, _encode(millis, _TIME_CHARS)
            if not _Made.pool:
                _Made.pool = _random_values()
            value = _Made.pool.pop()
        _Made.last = value
        stamp = _Made.stamp
    return f"{prefix}_{stamp}{_encode(value, _RANDOM_BITS // 5)}"


# A prefix and a body of the alphabet's characters (ASCII only: `re.ASCII` is implied by the
# explicit ranges); one match instead of a generator over 26 characters, for every id looked up.
_SHAPE = re.compile(rf"([a-z]+)_[{_ALPHABET}]{{{_BODY_LENGTH}}}")


def looks_like(prefix: str, value: str) -> bool:
    """Whether `value` has the shape of an id with this prefix (no lookup)."""
    shape = _SHAPE.fullmatch(value)
    return shape is not None and shape.group(1) == prefix
