"""Opaque, prefixed, time-sortable identifiers (`cus_01jd…`).

The prefix tells a human what an id points at; the body is a ULID (48-bit millisecond time +
80 random bits in Crockford base32), so ids sort by creation and serve as pagination cursors.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

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


def _random_parts() -> Iterator[str]:
    """Encoded random parts from one read of the OS's randomness: one system call for every
    4,096 ids, not one each (a billing run makes ~25 ids per subscription)."""
    pool = os.urandom(_POOL_SIZE * _RANDOM_BITS // 8)
    step = _RANDOM_BITS // 8
    return iter(
        [
            _encode(int.from_bytes(pool[start : start + step]), _RANDOM_BITS // 5)
            for start in range(0, len(pool), step)
        ]
    )


class _Made:
    """What `new_id` keeps between calls.

    `random` is a list iterator: it hands each item out once even across threads (its `next` is
    atomic under the GIL); two threads that find it empty both refill, which costs a pool, never
    a repeat. `stamp` is (millisecond, its encoding) in one tuple, so a thread never reads one
    without the other.
    """

    random: Iterator[str] = iter(())
    stamp: tuple[int, str] = (-1, "")


def _forget_pool() -> None:
    """A forked child must not hand out the parent's remaining random parts again."""
    _Made.random = iter(())


os.register_at_fork(after_in_child=_forget_pool)


def new_id(prefix: str) -> str:
    """A fresh id such as `ten_01jd3k…`; later calls sort after earlier ones (per millisecond)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    stamp = _Made.stamp
    if stamp[0] != millis:
        stamp = _Made.stamp = (millis, _encode(millis, _TIME_CHARS))
    random_part = next(_Made.random, None)
    if random_part is None:
        _Made.random = _random_parts()
        random_part = next(_Made.random)
    return f"{prefix}_{stamp[1]}{random_part}"


# A prefix and a body of the alphabet's characters (ASCII only: `re.ASCII` is implied by the
# explicit ranges); one match instead of a generator over 26 characters, for every id looked up.
_SHAPE = re.compile(rf"([a-z]+)_[{_ALPHABET}]{{{_BODY_LENGTH}}}")


def looks_like(prefix: str, value: str) -> bool:
    """Whether `value` has the shape of an id with this prefix (no lookup)."""
    shape = _SHAPE.fullmatch(value)
    return shape is not None and shape.group(1) == prefix
