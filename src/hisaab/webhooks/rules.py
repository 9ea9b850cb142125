"""What a webhook endpoint may be: pure checks of its URL and event filter (no IO)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from hisaab.core.errors import invalid

ALL_EVENTS = "*"
SCHEMES = ("http", "https")


def check_url(url: str) -> str:
    """The URL as given, if Hisaab can POST to it: http(s), a host, a valid port, no fragment.

    Loopback and private addresses are allowed: a self-hosted Hisaab often calls a service next
    to it.
    """
    error = invalid(
        "invalid_url", "The URL must be an http or https URL with a host.", ("body", "url")
    )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise error
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise error from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname or not port_ok:
        raise error
    if parts.fragment:
        raise invalid(
            "invalid_url", "A URL fragment (#…) is never sent; leave it out.", ("body", "url")
        )
    return url


def event_filter(requested: Iterable[str], known: Iterable[str]) -> list[str]:
    """The stored filter: `["*"]`, or the known types asked for, each once, in the order given.

    `*` among other types is `*`; an unknown type is refused, not ignored, so a typo does not
    silently subscribe to nothing.
    """
    wanted = list(dict.fromkeys(requested))
    if ALL_EVENTS in wanted:
        return [ALL_EVENTS]
    known_types = frozenset(known)
    unknown = [t for t in wanted if t not in known_types]
    if unknown:
        raise invalid(
            "unknown_event_type",
            f'Unknown event type {unknown[0]!r}: use documented types, or ["*"] for all.',
            ("body", "events", wanted.index(unknown[0])),
        )
    return wanted


def matches(event_filter: Iterable[str], event_type: str) -> bool:
    return any(t in (ALL_EVENTS, event_type) for t in event_filter)
