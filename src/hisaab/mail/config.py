"""HISAAB_SMTP_URL and HISAAB_MAIL_FROM, parsed once at start.

One URL is what operators already paste from their mail provider's dashboard, and it keeps the
TLS decision next to the host it applies to:

    smtp://[user[:password]@]host[:port][?starttls=opportunistic|required|never][&timeout=30]
    smtps://[user[:password]@]host[:port][?timeout=30]

- `smtps://` is TLS from the first byte (port 465 by default).
- `smtp://` (port 25 by default; providers' submission port is 587, written explicitly) upgrades
  with STARTTLS: `opportunistic` (the default) when the server offers it, `required` refuses a
  server that does not, `never` stays in clear (a relay on the same host).
- Certificates are always verified against the system trust store (OpenSSL's `SSL_CERT_FILE`
  points at another bundle): a TLS session whose peer is not checked protects nothing.
- A password is never sent in clear: with credentials, a server that offers no TLS is refused
  unless the operator wrote `starttls=never`, saying that the path to the relay is trusted.

User and password are percent-decoded (`p%40ss` is `p@ss`). Error messages never repeat the URL,
which may hold the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

TlsMode = Literal["implicit", "opportunistic", "required", "never"]

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
DEFAULT_TIMEOUT = 30.0
STARTTLS_MODES: tuple[TlsMode, ...] = ("opportunistic", "required", "never")
# What a `From:` address must look like; display names come from the tenant, not from here.
ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    def describe(self) -> str:
        """For logs: where mail goes, without the credentials."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        who = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{who}{host}:{self.port} (tls: {self.tls})"


def parse_smtp_url(url: str) -> SmtpConfig:
    """The SMTP server of HISAAB_SMTP_URL; ValueError naming what is wrong (not the URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("not a valid smtp:// or smtps:// URL (check the port)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"the scheme must be smtp:// or smtps://, got {scheme or 'none'}")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("the URL takes no path or fragment, only ?starttls= and ?timeout=")
    tls: TlsMode = "implicit" if scheme == "smtps" else "opportunistic"
    timeout = DEFAULT_TIMEOUT
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "starttls" and scheme == "smtp":
            tls = _starttls(value)
        elif name == "timeout":
            timeout = _timeout(value)
        else:
            raise ValueError(f"unknown option {name!r} (smtp:// takes starttls and timeout)")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("a password needs a user name")
    return SmtpConfig(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        tls=tls,
        username=username,
        password=password,
        timeout=timeout,
    )


def _starttls(value: str) -> TlsMode:
    for mode in STARTTLS_MODES:
        if value == mode:
            return mode
    raise ValueError(f"starttls must be one of {', '.join(STARTTLS_MODES)}, got {value!r}")


def _timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise ValueError(f"timeout must be seconds between 0 and 600, got {value!r}")
    return seconds


def check_address(value: str) -> str:
    """HISAAB_MAIL_FROM: a bare address (`billing@example.com`), since the display name is each
    tenant's own name."""
    address = value.strip()
    if not ADDRESS.match(address):
        raise ValueError("must be an email address such as billing@example.com")
    return address
