"""Where a finished message goes: an SMTP server, or a directory of .eml files.

The send job does not care which; it only needs to know whether trying again can help, which is
what `DeliveryError.permanent` says.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from hisaab.mail.config import SmtpConfig


class DeliveryError(Exception):
    """The message was not handed over. `permanent`: the server refused this message for good
    (an unknown mailbox, content it will never accept), so retrying would only repeat the no."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand the message over, or raise DeliveryError."""

    def describe(self) -> str:
        """For logs and the start-up banner; never holds a secret."""


class SmtpTransport:
    """One connection per message: sends are rare and spread over time, so a pooled connection
    would mostly be an idle one that the server has already dropped."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def describe(self) -> str:
        return self.config.describe()

    def send(self, message: EmailMessage) -> None:
        config = self.config
        try:
            with self._connect() as client:
                client.ehlo()
                encrypted = config.tls == "implicit"
                if not encrypted and config.tls != "never":
                    if client.has_extn("starttls"):
                        client.starttls(context=ssl.create_default_context())
                        client.ehlo()
                        encrypted = True
                    elif config.tls == "required":
                        raise DeliveryError(
                            f"{config.host}:{config.port} does not offer STARTTLS "
                            "(HISAAB_SMTP_URL has starttls=required)"
                        )
                if config.username is not None:
                    if not encrypted and config.tls != "never":
                        raise DeliveryError(
                            f"{config.host}:{config.port} offers no TLS; the password is not "
                            "sent in clear (add ?starttls=never to HISAAB_SMTP_URL to allow it)"
                        )
                    client.login(config.username, config.password or "")
                client.send_message(message)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            details = "; ".join(
                f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in exc.recipients.items()
            )
            raise DeliveryError(
                f"recipient refused: {details}", permanent=all(code >= 500 for code in codes)
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise DeliveryError(
                f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # Authentication and sender errors are the operator's to fix; the retries give time.
            raise DeliveryError(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"{config.host}:{config.port}: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.tls == "implicit":
            return smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DirectoryTransport:
    """Writes each message as `<directory>/<message id>.eml`, for a laptop with no mail server:
    any mail client opens the file, and a retried send rewrites the same file instead of adding
    a second one. Files appear whole (written aside, then renamed) for whoever watches the
    directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"directory {self.directory}"

    def path_for(self, message: EmailMessage) -> Path:
        message_id = str(message.get("Message-ID") or make_msgid())
        local = message_id.strip().strip("<>").split("@", 1)[0]
        return self.directory / f"{_UNSAFE.sub('_', local) or 'message'}.eml"

    def send(self, message: EmailMessage) -> None:
        target = self.path_for(message)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message.as_bytes(policy=policy.SMTP))
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc}") from exc
