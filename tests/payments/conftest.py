"""No test here may reach a real gateway: name resolution is refused for anything but loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.payments.fakes import FakeRazorpay, FakeStripe, serve

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse, and fail the test for, any lookup of a non-loopback host.

    The SDKs turn any transport exception into their own connection error, which an adapter
    reports as `processing`; so the attempt is also recorded and checked after the test.
    """
    real = socket.getaddrinfo
    attempts: list[str] = []

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK:
            attempts.append(name)
            raise OSError(f"test tried to reach {name}: only the local fakes are allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert attempts == [], f"tests must not reach the internet: {attempts}"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with serve(FakeStripe()) as api:
        yield api


@pytest.fixture
def fake_razorpay() -> Iterator[FakeRazorpay]:
    with serve(FakeRazorpay()) as api:
        yield api
