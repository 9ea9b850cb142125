"""Prefixed, time-sortable ids: `cus_` + 26 Crockford base32 characters of a ULID."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.core.ids import PREFIXES, looks_like, new_id

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
EXPECTED_PREFIXES = {
    "ten", "key", "cus", "pm", "prod", "plan", "sub", "in", "cn", "pay", "evt", "we",
    "clock", "mtr", "coupon", "aud", "req", "il", "ii", "cbt", "je", "msg", "cnl", "rf", "gwe",
    "whd", "wha", "bb",
}  # fmt: skip
VALID_BODY = "01jd3k5x7q9m2n4p6r8s0t1v3w"
MAX_MILLIS = 2**48 - 1

prefixes = st.sampled_from(sorted(PREFIXES))


def _decode(body: str) -> int:
    value = 0
    for char in body:
        value = value * 32 + CROCKFORD.index(char)
    return value


def _id_at(monkeypatch: pytest.MonkeyPatch, prefix: str, millis: int) -> str:
    monkeypatch.setattr(time, "time_ns", lambda: millis * 1_000_000 + 999_999)
    return new_id(prefix)


def test_prefix_set_is_the_documented_one() -> None:
    assert set(PREFIXES) == EXPECTED_PREFIXES


@pytest.mark.parametrize("prefix", sorted(EXPECTED_PREFIXES))
def test_new_id_has_prefix_and_crockford_body(prefix: str) -> None:
    value = new_id(prefix)
    head, sep, body = value.partition("_")
    assert (head, sep) == (prefix, "_")
    assert len(body) == 26
    assert set(body) <= set(CROCKFORD)
    assert looks_like(prefix, value)


@pytest.mark.parametrize(
    "prefix", ["", "xyz", "TEN", "Ten", "ten_", "_ten", " ten", "customer", "inv", "cus-", "in "]
)
def test_new_id_rejects_unknown_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id(prefix)


def test_body_encodes_the_millisecond_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    millis = 1_735_689_600_123  # 2025-01-01T00:00:00.123Z
    body = _id_at(monkeypatch, "cus", millis).partition("_")[2]
    assert _decode(body) >> 80 == millis


@pytest.mark.parametrize(
    ("prefix", "value", "expected"),
    [
        ("cus", f"cus_{VALID_BODY}", True),
        ("in", f"in_{VALID_BODY}", True),
        ("cus", "cus_" + "0" * 26, True),
        ("cus", "cus_" + "z" * 26, True),
        ("cus", f"sub_{VALID_BODY}", False),  # wrong prefix
        ("in", f"inv_{VALID_BODY}", False),  # prefix only starts the same
        ("cus", f"cu_{VALID_BODY}", False),
        ("cus", f"CUS_{VALID_BODY}", False),  # upper-case prefix
        ("cus", f"cus_{VALID_BODY[:-1]}", False),  # 25 characters
        ("cus", f"cus_{VALID_BODY}0", False),  # 27 characters
        ("cus", "cus_", False),
        ("cus", "", False),
        ("cus", f"cus_{VALID_BODY.upper()}", False),  # upper-case body
        ("cus", f"cus_{VALID_BODY[:-1]}A", False),
        ("cus", f"cus{VALID_BODY}", False),  # missing underscore
        ("cus", f"cus-{VALID_BODY}", False),
        ("cus", f"cus__{VALID_BODY[:-1]}", False),
        ("cus", f"cus_{VALID_BODY[:-1]}i", False),  # i, l, o, u are not Crockford
        ("cus", f"cus_{VALID_BODY[:-1]}l", False),
        ("cus", f"cus_{VALID_BODY[:-1]}o", False),
        ("cus", f"cus_{VALID_BODY[:-1]}u", False),
        ("cus", f"cus_{VALID_BODY[:-1]}-", False),
        ("cus", f" cus_{VALID_BODY}", False),
        ("cus", f"cus_{VALID_BODY} ", False),
        ("cus", f"cus_{VALID_BODY[:-1]}\n", False),
        ("cus", f"cus_{VALID_BODY}\n", False),  # a trailing newline after a whole body
        ("cus", f"cus_{VALID_BODY[:-1]}\x00", False),
        ("cus", f"cus_{VALID_BODY[:-1]}٣", False),  # a non-ASCII digit
    ],
)
def test_looks_like(prefix: str, value: str, expected: bool) -> None:
    assert looks_like(prefix, value) is expected


def test_ids_are_unique() -> None:
    made = [new_id("evt") for _ in range(10_000)]
    assert len(set(made)) == len(made)


def test_ids_within_one_millisecond_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    made = {new_id("req") for _ in range(2_000)}
    assert len(made) == 2_000
    assert len({value[:14] for value in made}) == 1  # same time part


def test_later_millisecond_sorts_after(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [
        _id_at(monkeypatch, "in", millis) for millis in range(1_700_000_000_000, 1_700_000_000_500)
    ]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (0, 1),
        (9, 10),  # body digit 9 -> a: the alphabet must be in ASCII order
        (31, 32),
        (2**40 - 1, 2**40),
        (MAX_MILLIS - 1, MAX_MILLIS),
    ],
)
def test_sort_order_across_digit_boundaries(
    monkeypatch: pytest.MonkeyPatch, earlier: int, later: int
) -> None:
    first = _id_at(monkeypatch, "sub", earlier)
    second = _id_at(monkeypatch, "sub", later)
    assert first < second


@settings(max_examples=100)
@given(
    prefix=prefixes,
    times=st.lists(
        st.integers(min_value=0, max_value=MAX_MILLIS), min_size=2, max_size=2, unique=True
    ),
)
def test_property_ids_sort_by_creation_millisecond(prefix: str, times: list[int]) -> None:
    earlier, later = sorted(times)
    with pytest.MonkeyPatch.context() as mp:
        first = _id_at(mp, prefix, earlier)
        second = _id_at(mp, prefix, later)
    assert first < second


@settings(max_examples=100)
@given(prefix=prefixes)
def test_property_new_id_looks_like_itself(prefix: str) -> None:
    value = new_id(prefix)
    assert looks_like(prefix, value)
    others = sorted(PREFIXES - {prefix})
    assert not any(looks_like(other, value) for other in others)


@settings(max_examples=100)
@given(
    prefix=prefixes,
    position=st.integers(min_value=0, max_value=25),
    bad=st.characters(exclude_characters=CROCKFORD),
)
def test_property_one_foreign_character_breaks_the_shape(
    prefix: str, position: int, bad: str
) -> None:
    body = new_id(prefix).partition("_")[2]
    mutated = body[:position] + bad + body[position + 1 :]
    assert not looks_like(prefix, f"{prefix}_{mutated}")


def _random_parts(made: list[str]) -> set[str]:
    return {value.partition("_")[2][10:] for value in made}


def test_a_forked_child_does_not_repeat_the_parents_randomness() -> None:
    new_id("evt")  # the parent now holds a pool with 4,095 parts left
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reader)
        os.write(writer, " ".join(new_id("evt") for _ in range(200)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        from_child = pipe.read().split()
    os.waitpid(child, 0)
    from_parent = [new_id("evt") for _ in range(200)]
    assert len(from_child) == 200
    assert not _random_parts(from_child) & _random_parts(from_parent)


def test_threads_never_share_an_id() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(lambda _: [new_id("evt") for _ in range(3_000)], range(8)))
    made = [value for batch in batches for value in batch]
    assert len(set(made)) == len(made) == 24_000


def test_ids_of_one_millisecond_sort_in_the_order_they_were_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A billing batch makes many invoices in one millisecond: listed by id, they stay in the
    order they were issued."""
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    made = [new_id("in") for _ in range(5_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
