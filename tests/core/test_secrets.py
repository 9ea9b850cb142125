"""Secrets at rest: sealed with the first key, opened with any, refused when tampered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hisaab.core import secrets


@pytest.fixture
def restore_keys() -> Iterator[None]:
    saved = list(secrets._cipher)
    yield
    secrets._cipher[:] = saved


@pytest.mark.usefixtures("restore_keys")
def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    secrets.configure([secrets.new_key()])
    sealed = secrets.seal("sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    assert "4eC39" not in sealed
    assert secrets.unseal(sealed) == "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


@pytest.mark.usefixtures("restore_keys")
def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    old, new = secrets.new_key(), secrets.new_key()
    secrets.configure([old])
    sealed_with_old = secrets.seal("rzp_secret")
    secrets.configure([new, old])
    assert secrets.unseal(sealed_with_old) == "rzp_secret"
    secrets.configure([new])
    assert secrets.unseal(secrets.seal("x")) == "x"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.unseal(sealed_with_old)


@pytest.mark.usefixtures("restore_keys")
def test_tampered_ciphertext_is_refused() -> None:
    secrets.configure([secrets.new_key()])
    sealed = secrets.seal("whsec_abc")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(secrets.SecretUnreadable):
        secrets.unseal(tampered)


@pytest.mark.parametrize("bad", ["", "short", "not base64 at all!!" * 3])
@pytest.mark.usefixtures("restore_keys")
def test_malformed_key_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="secret key #1"):
        secrets.configure([bad])
