"""HISAAB_SMTP_URL and HISAAB_MAIL_FROM: what they accept, and that a bad one stops the start
with a message that names the variable but never repeats the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from hisaab import cli
from hisaab.invoicing import notifications
from hisaab.mail import service as mail
from hisaab.mail.config import SmtpConfig, check_address, parse_smtp_url
from hisaab.mail.transport import DirectoryTransport, SmtpTransport
from hisaab.settings import Settings, SettingsError, load_settings
from hisaab.webhooks import service as events


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpConfig("mail.example.com", 25, "opportunistic")),
        ("smtps://mail.example.com", SmtpConfig("mail.example.com", 465, "implicit")),
        (
            "smtp://apikey:s%40cret@smtp.example.com:587?starttls=required",
            SmtpConfig("smtp.example.com", 587, "required", "apikey", "s@cret"),
        ),
        (
            "smtp://127.0.0.1:2525?starttls=never&timeout=5",
            SmtpConfig("127.0.0.1", 2525, "never", timeout=5.0),
        ),
        ("SMTPS://u:p@[::1]:4650", SmtpConfig("::1", 4650, "implicit", "u", "p")),
    ],
)
def test_urls_that_are_understood(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://user:hunter2@mail.example.com", "scheme"),
        ("smtp://user:hunter2@", "no host"),
        ("smtp://user:hunter2@mail.example.com:99999", "port"),
        ("smtp://user:hunter2@mail.example.com?starttls=maybe", "starttls"),
        ("smtps://user:hunter2@mail.example.com?starttls=required", "unknown option"),
        ("smtp://user:hunter2@mail.example.com?tls=1", "unknown option"),
        ("smtp://user:hunter2@mail.example.com?timeout=0", "timeout"),
        ("smtp://user:hunter2@mail.example.com/inbox", "path"),
        ("smtp://:hunter2@mail.example.com", "user name"),
    ],
)
def test_bad_urls_are_refused_without_echoing_the_password(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as refused:
        parse_smtp_url(url)
    assert "hunter2" not in str(refused.value)


def test_the_password_is_not_in_reprs_or_descriptions() -> None:
    config = parse_smtp_url("smtp://user:hunter2@mail.example.com:587")
    assert "hunter2" not in repr(config)
    assert config.describe() == "smtp://user@mail.example.com:587 (tls: opportunistic)"


def test_settings_validate_the_mail_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISAAB_SMTP_URL", "smtp://user:hunter2@mail.example.com:587")
    monkeypatch.setenv("HISAAB_MAIL_FROM", "invoices@example.com")
    settings = load_settings()
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value().endswith("@mail.example.com:587")
    assert "hunter2" not in repr(settings)
    assert settings.mail_from == "invoices@example.com"

    monkeypatch.setenv("HISAAB_SMTP_URL", "smtp://user:hunter2@mail.example.com?starttls=yes")
    monkeypatch.setenv("HISAAB_MAIL_FROM", "Billing <invoices@example.com>")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "HISAAB_SMTP_URL" in message
    assert "HISAAB_MAIL_FROM" in message
    assert "hunter2" not in message


def test_an_empty_smtp_url_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISAAB_SMTP_URL", "")
    monkeypatch.delenv("HISAAB_MAIL_FROM", raising=False)
    settings = load_settings()
    assert settings.smtp_url is None
    assert settings.mail_from == "billing@localhost"


@pytest.mark.parametrize("value", ["billing@localhost", "invoices@mail.example.co.in"])
def test_from_addresses(value: str) -> None:
    assert check_address(f" {value} ") == value


@pytest.mark.parametrize("value", ["billing", "Billing <b@example.com>", "b@", "a b@example.com"])
def test_not_from_addresses(value: str) -> None:
    with pytest.raises(ValueError, match="email address"):
        check_address(value)


def test_without_an_smtp_url_mail_goes_to_the_data_dir(tmp_path: Path) -> None:
    mailer = mail.mailer_from_settings(None, "billing@localhost", tmp_path)
    assert isinstance(mailer.transport, DirectoryTransport)
    assert mailer.transport.directory == (tmp_path / "outbox").resolve()
    smtp = mail.mailer_from_settings("smtps://mail.example.com", "b@example.com", tmp_path)
    assert isinstance(smtp.transport, SmtpTransport)


def test_the_processes_wire_mail_from_their_settings(tmp_path: Path) -> None:
    """What `hisaab up`, `api` and `worker` do at start: a mailer, and invoicing subscribed."""
    try:
        cli._configure_mail(Settings(data_dir=tmp_path, smtp_url=None))
        transport = mail.mailer().transport
        assert isinstance(transport, DirectoryTransport)
        assert transport.directory == (tmp_path / "outbox").resolve()
        assert mail.mailer().sender == "billing@localhost"
        assert notifications.invoice_finalized in events._handlers["invoice.finalized"]
        assert notifications.invoice_paid in events._handlers["invoice.paid"]
    finally:
        notifications.uninstall()
        mail.configure(None)
    assert notifications.invoice_finalized not in events._handlers["invoice.finalized"]


def test_only_known_event_types_can_be_subscribed() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        events.subscribe("invoice.emailed", lambda *_: None)
