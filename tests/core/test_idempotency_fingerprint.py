"""Idempotency-Key: request fingerprints and key validation (the pure half of idempotency.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.core.errors import HisaabError
from hisaab.core.idempotency import MAX_KEY_LENGTH, fingerprint, validate_key

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**18), max_value=10**18)
    | st.sampled_from([0, 1, -1, 10, 100])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 10.0, 1e2, 0.1])
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


# --- fingerprint ----------------------------------------------------------------------------


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    value = fingerprint("POST", "/v1/customers", b'{"name":"A"}')
    assert len(value) == 64
    assert set(value) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "body",
    [
        b'{"name":"Asha","email":"a@x.test"}',
        b'{"email":"a@x.test","name":"Asha"}',
        b'{ "name" : "Asha" ,\n  "email" : "a@x.test" }\n',
        b'\t{"email":\r\n"a@x.test", "name":"Asha"}  ',
        b'{"name":"\\u0041sha","email":"a@x.test"}',  # \u0041 is A
        '{"name":"Asha","email":"a@x.test"}'.encode("utf-16"),  # json.loads detects UTF-16
    ],
)
def test_same_json_value_same_fingerprint(body: bytes) -> None:
    expected = fingerprint("POST", "/v1/customers", b'{"name":"Asha","email":"a@x.test"}')
    assert fingerprint("POST", "/v1/customers", body) == expected


def test_nested_key_order_does_not_matter() -> None:
    one = b'{"a":{"x":1,"y":[{"p":1,"q":2}]},"b":2}'
    two = b'{"b":2,"a":{"y":[{"q":2,"p":1}],"x":1}}'
    assert fingerprint("POST", "/v1/x", one) == fingerprint("POST", "/v1/x", two)


def test_non_ascii_text_and_its_escape_are_the_same_value() -> None:
    assert fingerprint("POST", "/v1/x", '{"n":"₹"}'.encode()) == fingerprint(
        "POST", "/v1/x", b'{"n":"\\u20b9"}'
    )


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (("POST", "/v1/customers", b"{}"), ("PUT", "/v1/customers", b"{}")),
        (("POST", "/v1/customers", b"{}"), ("post", "/v1/customers", b"{}")),
        (("POST", "/v1/customers", b"{}"), ("POST", "/v1/invoices", b"{}")),
        (("POST", "/v1/customers", b"{}"), ("POST", "/v1/customers/", b"{}")),
        (("POST", "/v1/x", b'{"a":1}'), ("POST", "/v1/x", b'{"a":2}')),
        (("POST", "/v1/x", b'{"a":1}'), ("POST", "/v1/x", b'{"a":"1"}')),
        (("POST", "/v1/x", b'{"a":1}'), ("POST", "/v1/x", b'{"a":true}')),
        (("POST", "/v1/x", b'{"a":null}'), ("POST", "/v1/x", b"{}")),
        (("POST", "/v1/x", b"[1,2]"), ("POST", "/v1/x", b"[2,1]")),
        (("POST", "/v1/x", b'{"a":"x "}'), ("POST", "/v1/x", b'{"a":"x"}')),
        (("POST", "/v1/x", b""), ("POST", "/v1/x", b"{}")),
        (("POST", "/v1/x", b"{}"), ("POST", "/v1/x", b"[]")),
        (("POST", "/v1/x", b"null"), ("POST", "/v1/x", b"")),
        # the parts are length-prefixed: moving bytes from one part to the next changes it
        (("POST", "/v1/ab", b"c"), ("POST", "/v1/a", b"bc")),
        (("POST", "/v1/a", b"x"), ("POS", "T/v1/a", b"x")),
        (("POST", "", b"/v1/a"), ("POST", "/v1/a", b"")),
    ],
)
def test_different_requests_different_fingerprints(
    one: tuple[str, str, bytes], two: tuple[str, str, bytes]
) -> None:
    assert fingerprint(*one) != fingerprint(*two)


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (b"a=1&b=2", b"b=2&a=1"),
        (b"a=1&b=2", b"a=1&b=2 "),
        (b"not json", b"not  json"),
        (b"{'a': 1}", b"{'a':1}"),  # Python repr, not JSON
        (b"\xff\xfe\x00", b"\xff\xfe"),
        (b'{"a":1', b'{"a": 1'),  # truncated JSON is compared as bytes
    ],
)
def test_non_json_bodies_compare_byte_for_byte(one: bytes, two: bytes) -> None:
    assert fingerprint("POST", "/v1/x", one) != fingerprint("POST", "/v1/x", two)
    assert fingerprint("POST", "/v1/x", one) == fingerprint("POST", "/v1/x", bytes(one))


@pytest.mark.parametrize(
    "body",
    [b'{"n":1}', b'{"n":1.0}', b'{"n":1e0}', b'{"n":10E-1}', b'{"n":1.000}', b'{"n":0.1e1}'],
)
def test_json_numbers_compare_by_exact_value(body: bytes) -> None:
    assert fingerprint("POST", "/v1/x", body) == fingerprint("POST", "/v1/x", b'{"n":1}')


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (b"1e400", b"2e400"),  # both overflow a double
        (b'{"quantity":1.00000000000000001}', b'{"quantity":1.0}'),  # equal only as doubles
        (b'{"n":1.00000000000000000000000000001}', b'{"n":1}'),  # 30 significant digits
        (
            b'{"n":12345678901234567890123456789}',  # 29-digit integers one apart
            b'{"n":12345678901234567890123456788}',
        ),
        (b'{"n":100}', b'{"n":10}'),
        (b'{"n":true}', b'{"n":1}'),
        (b'{"n":"1"}', b'{"n":1}'),
    ],
)
def test_json_numbers_that_differ_in_value_give_different_fingerprints(
    one: bytes, two: bytes
) -> None:
    # fingerprint() promises "same request <=> same fingerprint" and compares numbers "by exact
    # value": a retry of the key with another number must get idempotency_key_reused, not replay.
    assert fingerprint("POST", "/v1/x", one) != fingerprint("POST", "/v1/x", two)


@settings(max_examples=100)
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    path=st.text(max_size=30),
    body=st.binary(max_size=100),
)
def test_property_fingerprint_is_deterministic(method: str, path: str, body: bytes) -> None:
    assert fingerprint(method, path, body) == fingerprint(method, path, bytes(body))


@settings(max_examples=100)
@given(value=json_values, indent=st.sampled_from([None, 0, 2, "\t"]))
def test_property_json_layout_and_key_order_do_not_matter(value: Any, indent: Any) -> None:
    compact = json.dumps(value, separators=(",", ":")).encode()
    laid_out = json.dumps(_reversed_keys(value), indent=indent, ensure_ascii=False).encode()
    assert fingerprint("POST", "/v1/x", compact) == fingerprint("POST", "/v1/x", laid_out)


def _value(text: str) -> Any:
    """A JSON document as a comparable value: numbers by exact value (-0 apart from 0)."""

    def tag(value: Any) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return (type(value).__name__, value)
        if isinstance(value, Decimal):
            return ("number", value, value.is_zero() and value.is_signed())
        if isinstance(value, list):
            return ("list", tuple(tag(item) for item in value))
        return ("object", tuple(sorted((key, tag(item)) for key, item in value.items())))

    return tag(json.loads(text, parse_float=Decimal, parse_int=Decimal))


@settings(max_examples=100)
@given(one=json_values, two=json_values)
def test_property_fingerprints_equal_exactly_when_json_values_equal(one: Any, two: Any) -> None:
    text_one, text_two = json.dumps(one), json.dumps(two)
    fp_one = fingerprint("POST", "/v1/x", text_one.encode())
    fp_two = fingerprint("POST", "/v1/x", text_two.encode())
    assert (fp_one == fp_two) == (_value(text_one) == _value(text_two))


# --- validate_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "x" * MAX_KEY_LENGTH,
        "é" * MAX_KEY_LENGTH,
        "order-42/retry#1",
        "3f2c9e4a-6b1d-4c1e-9d0a-7e5f8b2c1a90",
        "with spaces inside",
        "₹ किताब",
    ],
)
def test_valid_keys(key: str) -> None:
    validate_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "x" * (MAX_KEY_LENGTH + 1),
        "x" * 1000,
        "abc\n",
        "a\tb",
        "\x00",
        "abc\x7f",
        "a\rb",
        "zero\u200bwidth",
        "\ud800",  # lone surrogate
        "line\u2028separator",
    ],
)
def test_invalid_keys(key: str) -> None:
    with pytest.raises(HisaabError) as caught:
        validate_key(key)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_idempotency_key"


def test_max_key_length_is_255() -> None:
    assert MAX_KEY_LENGTH == 255


@settings(max_examples=100)
@given(key=st.text(min_size=1, max_size=MAX_KEY_LENGTH).filter(str.isprintable))
def test_property_printable_keys_up_to_255_are_valid(key: str) -> None:
    validate_key(key)


@settings(max_examples=100)
@given(
    head=st.text(max_size=20),
    bad=st.characters(categories=["Cc", "Cf", "Zl", "Zp"]),
    tail=st.text(max_size=20),
)
def test_property_a_non_printable_character_invalidates_the_key(
    head: str, bad: str, tail: str
) -> None:
    with pytest.raises(HisaabError) as caught:
        validate_key(head + bad + tail)
    assert caught.value.code == "invalid_idempotency_key"
