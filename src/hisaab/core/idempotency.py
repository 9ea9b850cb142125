"""The Idempotency-Key behaviour of API.md, stored in PostgreSQL.

A POST with a key takes a transaction-scoped advisory lock on (scope, key) before doing anything:
a second request with the same key while the first still runs cannot take it and gets 409.
The response of a successful request is stored in the same transaction as its writes, so either
both the objects and the stored response exist, or neither does. A request that fails changes
nothing and stores nothing, so it can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import Integer, LargeBinary, Text, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Mapped, Session, mapped_column

from hisaab.core.errors import HisaabError, conflict
from hisaab.core.models import Timestamp
from hisaab.db import Base, run_sql

MAX_KEY_LENGTH = 255
# Stored as the status of a request whose first part committed and which has not finished.
IN_PROGRESS = 0


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[Timestamp]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    content_type: str
    body: bytes


def _canonical(value: Any) -> Any:
    """A tagged, order-free form of parsed JSON in which no two different documents meet:
    numbers by exact value (1 == 1.0, 1e400 != 2e400), objects without key order."""
    if isinstance(value, dict):
        return ("o", sorted((key, _canonical(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("a", [_canonical(item) for item in value])
    if isinstance(value, Decimal):
        exact = Context(prec=max(28, len(value.as_tuple().digits)))
        return ("n", str(value.normalize(exact)))
    return (type(value).__name__, value)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same request ⇔ same fingerprint; JSON bodies compare by value, not by text."""
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_int=Decimal)
        canonical = repr(_canonical(parsed)).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def validate_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise HisaabError(
            code="invalid_idempotency_key",
            status=400,
            title="Bad request",
            detail=f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
        )


def claim(
    session: Session, scope: str, key: str, request_fingerprint: str
) -> StoredResponse | None:
    """Lock the key for this transaction; the earlier response if the request was already done.

    Raises 409 while another request holds the key and 422 if the key came with another request.
    """
    try:
        locked = run_sql(session, _LOCK, (f"{scope}\x1f{key}",)).scalar_one()
    except DataError:
        raise HisaabError(
            code="invalid_idempotency_key", status=400, detail="Idempotency-Key is not valid text."
        ) from None
    if not locked:
        raise conflict(
            "idempotency_request_in_progress",
            "A request with this Idempotency-Key is still being processed; retry later.",
        )
    record = run_sql(session, _FIND, (scope, key)).one_or_none()
    if record is None:
        return None
    if record.status_code == IN_PROGRESS:
        # Its first part committed (`core.http.checkpoint`) and the request never finished.
        raise conflict(
            "idempotency_request_in_progress",
            "A request with this Idempotency-Key saved its changes and is still finishing (or "
            "was interrupted after saving them); look the result up rather than repeating it.",
        )
    if record.fingerprint != request_fingerprint:
        raise HisaabError(
            code="idempotency_key_reused",
            status=422,
            title="Unprocessable content",
            detail="This Idempotency-Key was used with a different request.",
        )
    return StoredResponse(record.status_code, record.content_type, bytes(record.body))


def mark_in_progress(
    session: Session, scope: str, key: str, request_fingerprint: str, now: datetime
) -> None:
    store(
        session,
        scope,
        key,
        request_fingerprint,
        StoredResponse(IN_PROGRESS, "application/json", b""),
        now,
    )


def store(
    session: Session,
    scope: str,
    key: str,
    request_fingerprint: str,
    response: StoredResponse,
    now: datetime,
) -> None:
    """The response for the key (replacing a mark left by `mark_in_progress`), in one
    statement."""
    run_sql(
        session,
        _UPSERT,
        (
            scope,
            key,
            request_fingerprint,
            response.status_code,
            response.content_type,
            response.body,
            now,
        ),
    )


# Plain driver SQL: a request with an Idempotency-Key runs these on top of its own work.
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
_FIND = (
    "SELECT fingerprint, status_code, content_type, body FROM idempotency_keys "
    "WHERE tenant_id = %s AND key = %s"
)
_UPSERT = (
    "INSERT INTO idempotency_keys "
    "(tenant_id, key, fingerprint, status_code, content_type, body, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, "
    "status_code = excluded.status_code, content_type = excluded.content_type, "
    "body = excluded.body, created_at = excluded.created_at"
)


def purge_expired(session: Session, ttl: timedelta) -> int:
    """Forget keys older than the TTL, for every tenant (a SECURITY DEFINER function in SQL)."""
    return int(
        session.execute(
            text("SELECT hisaab_purge_idempotency_keys(:ttl)"), {"ttl": ttl}
        ).scalar_one()
    )
