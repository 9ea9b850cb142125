"""API key secrets: made once, shown once, kept only as a hash."""

from __future__ import annotations

import hashlib
import secrets

SECRET_PREFIX = "sk_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """SHA-256 is enough: the secret has 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()


def redacted(last4: str) -> str:
    return f"{SECRET_PREFIX}…{last4}"
