"""Opaque pagination cursors: url-safe base64 of an id, garbage answers 422 invalid_cursor."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.core.errors import HisaabError
from hisaab.core.ids import PREFIXES, new_id
from hisaab.core.pagination import decode_cursor, encode_cursor

URLSAFE = set(string.ascii_letters + string.digits + "-_")


def _raw(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


def _decode_or_error(cursor: str) -> str | HisaabError:
    try:
        return decode_cursor(cursor)
    except HisaabError as error:
        return error


def _assert_invalid(cursor: str) -> None:
    with pytest.raises(HisaabError) as caught:
        decode_cursor(cursor)
    error = caught.value
    assert error.status == 422
    assert error.code == "invalid_cursor"
    assert [e.loc for e in error.errors] == [("query", "cursor")]


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_round_trip_of_new_ids(prefix: str) -> None:
    object_id = new_id(prefix)
    cursor = encode_cursor(object_id)
    assert decode_cursor(cursor) == object_id
    assert object_id not in cursor  # opaque, not the id itself


def test_cursor_is_url_safe_without_padding() -> None:
    for length in range(1, 12):
        cursor = encode_cursor("a_" + "b" * length)
        assert set(cursor) <= URLSAFE
        assert "=" not in cursor


def test_cursor_of_known_value() -> None:
    assert encode_cursor("cus_1") == "Y3VzXzE"
    assert decode_cursor("Y3VzXzE") == "cus_1"


@settings(max_examples=100)
@given(prefix=st.sampled_from(sorted(PREFIXES)))
def test_property_round_trip_new_ids(prefix: str) -> None:
    object_id = new_id(prefix)
    cursor = encode_cursor(object_id)
    assert set(cursor) <= URLSAFE
    assert decode_cursor(cursor) == object_id


@settings(max_examples=100)
@given(
    head=st.text(st.characters(codec="utf-8"), max_size=20),
    tail=st.text(st.characters(codec="utf-8"), max_size=20),
)
def test_property_round_trip_printable_values_with_underscore(head: str, tail: str) -> None:
    value = f"{head}_{tail}"
    if not value.isprintable():
        _assert_invalid(encode_cursor(value))
        return
    cursor = encode_cursor(value)
    assert set(cursor) <= URLSAFE
    assert decode_cursor(cursor) == value


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "a",  # length 1 mod 4 is never base64
        "abcde",
        "!!!!",
        "====",
        "é",
        "Y3VzXzE\u00e9",
        "\x00",
        _raw(b"no-underscore"),  # decodes, but is not an id
        _raw(b"\xff\xfe_\x80"),  # not UTF-8
        _raw(b"cus_\x00"),  # not printable
        _raw(b"cus_1\n"),
        _raw("cus_\u200b".encode()),  # zero-width space is not printable
    ],
)
def test_garbage_cursors_are_invalid(cursor: str) -> None:
    _assert_invalid(cursor)


@settings(max_examples=100)
@given(cursor=st.text(max_size=60))
def test_property_any_text_decodes_to_an_id_shape_or_is_invalid(cursor: str) -> None:
    outcome = _decode_or_error(cursor)
    if isinstance(outcome, HisaabError):
        assert outcome.status == 422
        assert outcome.code == "invalid_cursor"
    else:
        assert "_" in outcome
        assert outcome.isprintable()


@settings(max_examples=100)
@given(raw=st.binary(max_size=40))
def test_property_any_bytes_decode_to_an_id_shape_or_are_invalid(raw: bytes) -> None:
    outcome = _decode_or_error(_raw(raw))
    if isinstance(outcome, HisaabError):
        assert outcome.code == "invalid_cursor"
        text = raw.decode(errors="replace")
        assert "\ufffd" in text or "_" not in text or not text.isprintable()
    else:
        assert outcome.encode() == raw
        assert "_" in outcome
        assert outcome.isprintable()
