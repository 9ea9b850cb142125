"""Secrets at rest (DESIGN rule 9): gateway credentials and webhook signing secrets are stored
encrypted with a key from the environment, never in clear.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) authenticates what it decrypts, so a
tampered or foreign ciphertext is refused rather than misread. Several keys may be configured
(`HISAAB_SECRET_KEYS`, comma-separated): the first encrypts, all decrypt, which is how a key is
rotated without a flag day.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_cipher: list[MultiFernet] = []


class SecretsNotConfigured(RuntimeError):
    pass


class SecretUnreadable(ValueError):
    """A stored secret no configured key can open (wrong key, or tampered)."""


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def configure(keys: list[str]) -> None:
    """The keys of this process, newest first; raises ValueError naming a malformed key."""
    if not keys:
        raise ValueError("at least one secret key is needed")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip().encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ValueError(
                f"secret key #{position} is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    _cipher[:] = [MultiFernet(fernets)]


def _configured() -> MultiFernet:
    if not _cipher:
        raise SecretsNotConfigured("hisaab.core.secrets.configure() was not called")
    return _cipher[0]


def seal(plaintext: str) -> str:
    return _configured().encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(ciphertext: str) -> str:
    try:
        return _configured().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable("no configured key opens this secret") from None
