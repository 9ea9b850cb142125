"""The SMTP transport against a real server on loopback: STARTTLS, implicit TLS, login, refusals
and a server that is down; and the directory transport's .eml files."""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from hisaab.mail.config import parse_smtp_url
from hisaab.mail.transport import DeliveryError, DirectoryTransport, SmtpTransport
from tests.mail.conftest import SENDER, Inbox, free_port, start_server

TO = "asha@example.test"


def _message(subject: str = "Invoice ACME/2526/1") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = TO
    message["Subject"] = subject
    message["Message-ID"] = "<msg_01jd3k5x7q9m2n4p6r8s0t1v3w@hisaab.test>"
    message.set_content("Hello")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    return message


def _send(url: str, message: EmailMessage | None = None) -> None:
    SmtpTransport(parse_smtp_url(url)).send(message or _message())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test certificate as the trust store, the way an operator points at a private CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate[0]


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"apikey",
        b"s3cr:et",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Inbox, int]]:
    """A server started with the test's `server_options` marker-less indirect parameters."""
    inbox = Inbox()
    controller, port = start_server(inbox, **getattr(request, "param", {}))
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_plain_delivery_when_the_server_offers_no_tls(server: tuple[Inbox, int]) -> None:
    inbox, port = server
    _send(f"smtp://127.0.0.1:{port}")
    [received] = inbox.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [TO]
    assert received.message["Subject"] == "Invoice ACME/2526/1"


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller, port = start_server(
        inbox,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
        auth_required=True,
    )
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_starttls_and_login(starttls_server: tuple[Inbox, int], trusted: Path) -> None:
    inbox, port = starttls_server
    _send(f"smtp://apikey:s3cr%3Aet@127.0.0.1:{port}?starttls=required")
    assert len(inbox.received) == 1


def test_opportunistic_starttls_upgrades_when_offered(
    starttls_server: tuple[Inbox, int], trusted: Path
) -> None:
    inbox, port = starttls_server
    _send(f"smtp://apikey:s3cr%3Aet@127.0.0.1:{port}")
    assert len(inbox.received) == 1


def test_an_untrusted_certificate_is_refused(
    starttls_server: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inbox, port = starttls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as failed:
        _send(f"smtp://apikey:s3cr%3Aet@127.0.0.1:{port}")
    assert not failed.value.permanent
    assert inbox.received == []


def test_a_wrong_password_is_a_failure_worth_retrying(
    starttls_server: tuple[Inbox, int], trusted: Path
) -> None:
    inbox, port = starttls_server
    with pytest.raises(DeliveryError, match="535") as failed:
        _send(f"smtp://apikey:wrong@127.0.0.1:{port}")
    assert not failed.value.permanent
    assert inbox.received == []


def test_required_starttls_refuses_a_server_without_it(server: tuple[Inbox, int]) -> None:
    inbox, port = server
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        _send(f"smtp://127.0.0.1:{port}?starttls=required")
    assert inbox.received == []


@pytest.mark.parametrize(
    "server", [{"authenticator": _authenticator, "auth_require_tls": False}], indirect=True
)
def test_a_password_goes_in_clear_only_when_the_operator_says_so(
    server: tuple[Inbox, int],
) -> None:
    inbox, port = server
    with pytest.raises(DeliveryError, match="not sent in clear"):
        _send(f"smtp://apikey:s3cr%3Aet@127.0.0.1:{port}")
    assert inbox.received == []
    _send(f"smtp://apikey:s3cr%3Aet@127.0.0.1:{port}?starttls=never")
    assert len(inbox.received) == 1


def test_implicit_tls(certificate: tuple[Path, Path], trusted: Path) -> None:
    inbox = Inbox()
    controller, port = start_server(inbox, ssl_context=_server_context(certificate))
    try:
        _send(f"smtps://127.0.0.1:{port}?timeout=5")
    finally:
        controller.stop()
    assert len(inbox.received) == 1


@pytest.mark.parametrize(
    ("reply", "permanent"), [("550 5.1.1 No such user", True), ("450 Busy", False)]
)
def test_a_refused_recipient(server: tuple[Inbox, int], reply: str, permanent: bool) -> None:
    inbox, port = server
    inbox.refuse[TO] = reply
    with pytest.raises(DeliveryError, match=reply[:3]) as failed:
        _send(f"smtp://127.0.0.1:{port}")
    assert failed.value.permanent is permanent


def test_a_server_that_is_down() -> None:
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1") as failed:
        _send(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    assert not failed.value.permanent
    assert "refused" in str(failed.value).lower()


def test_directory_transport_writes_one_parseable_file_per_message(tmp_path: Path) -> None:
    transport = DirectoryTransport(tmp_path / "outbox")
    message = _message("चालान")
    transport.send(message)
    transport.send(message)  # a retried job rewrites the same file
    [path] = (tmp_path / "outbox").iterdir()
    assert path.name == "msg_01jd3k5x7q9m2n4p6r8s0t1v3w.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "चालान"
    [attachment] = parsed.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_filename() == "a.pdf"
    assert attachment.get_content() == b"%PDF-1.4"


def test_directory_transport_failure_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(DeliveryError, match="cannot write"):
        DirectoryTransport(blocker).send(_message())
