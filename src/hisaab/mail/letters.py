"""Writing a customer email: its language, how it formats money and dates, its sender, and the
message itself (plain text and inline-styled HTML), for every domain that mails customers.

Each domain keeps its own texts (a table of language → key → template); the letter picks the
customer's language from them, or English with English formatting when they have none.

A letter is either written with its event (`submit`: what it says depends on how things stand
then) or only recorded as due (`due`) and written by the send job, when everything it says comes
from the event's snapshot: `written_by` makes the renderer that job calls, and `sent_as` gives
it back the letter the event saw (recipient, sender and timezone are kept on the message row).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from hisaab.core.money import Money
from hisaab.mail import service as mail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hisaab.mail.models import MailMessage
    from hisaab.webhooks.service import EventRecord

DEFAULT_LANGUAGE = "en"
Texts = Mapping[str, Mapping[str, str]]


def language_of(locale: str, texts: Texts) -> tuple[str, str]:
    """(language of the texts, locale for numbers and dates): a locale whose language has no
    texts is written in English, with English formatting to match."""
    parsed = _parsed(locale)
    if parsed is None or parsed[0] not in texts:
        return DEFAULT_LANGUAGE, DEFAULT_LANGUAGE
    return parsed


@lru_cache(maxsize=1024)
def _parsed(locale: str) -> tuple[str, str] | None:
    """Remembered: every event that records a letter asks, and customers share a few locales."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    return parsed.language, str(parsed)


class Sender(Protocol):
    """The tenant a letter is from (its row, as tenants.service returns it)."""

    name: str
    email: str | None
    timezone: str


@dataclass(frozen=True)
class Letter:
    """One email to one customer from one tenant."""

    texts: Texts
    language: str
    locale: str
    timezone: ZoneInfo
    seller: str
    reply_to: str | None
    to_address: str | None
    to_name: str | None

    @classmethod
    def to(
        cls,
        texts: Texts,
        sender: Sender,
        locale: str | None,
        email: str | None,
        name: str | None,
    ) -> Letter:
        language, formatting = language_of(locale or DEFAULT_LANGUAGE, texts)
        return cls(
            texts=texts,
            language=language,
            locale=formatting,
            timezone=ZoneInfo(sender.timezone),
            seller=sender.name,
            reply_to=sender.email,
            to_address=email or None,
            to_name=name or None,
        )

    @classmethod
    def sent_as(cls, texts: Texts, message: MailMessage) -> Letter:
        """The letter `to` made when its message was recorded: the row keeps the formatting
        locale (whose language picks the same texts again), the recipient, and the tenant's
        name, address and timezone of then."""
        language, formatting = language_of(message.locale, texts)
        return cls(
            texts=texts,
            language=language,
            locale=formatting,
            timezone=ZoneInfo(message.timezone or "UTC"),
            seller=message.from_name,
            reply_to=message.reply_to,
            to_address=message.to_address,
            to_name=message.to_name,
        )

    def text(self, key: str, **values: str) -> str:
        return self.texts[self.language][key].format(**values)

    def money(self, amount: int, currency: str) -> str:
        return Money(amount, currency).format(self.locale)

    def date(self, at: datetime) -> str:
        """The day as the tenant's calendar shows it."""
        return _long_date(at.astimezone(self.timezone).date(), self.locale)

    def date_time(self, at: datetime) -> str:
        """Date, time and zone abbreviation (IST): when money moves, the time is unambiguous."""
        local = at.astimezone(self.timezone)
        time = format_time(local.time(), "short", locale=self.locale)
        return f"{self.date(at)}, {time} {local.tzname()}"

    def content(self, subject: str, lines: list[str]) -> mail.Content:
        """The email around `lines`: greeting, the offer to answer questions, the signature."""
        greeting = self.text("greeting", name=self.to_name or "").replace(" ,", ",")
        paragraphs = [greeting, *lines]
        if self.reply_to:
            paragraphs.append(self.text("questions"))
        closing = [self.text("closing"), self.seller]
        return mail.Content(
            subject=subject,
            text_body="\n\n".join([*paragraphs, "\n".join(closing)]) + "\n",
            html_body=html_body(self.language, subject, paragraphs, closing),
        )

    def submit(
        self,
        session: Session,
        event: EventRecord,
        kind: str,
        document_id: str,
        subject: str,
        lines: list[str],
        attachments: tuple[mail.AttachmentRef, ...] = (),
    ) -> None:
        """Record the message, written now (once per event and kind), with its send job: for a
        letter whose words depend on how things stand when the event happens."""
        self._record(session, event, kind, document_id, self.content(subject, lines), attachments)

    def due(
        self,
        session: Session,
        event: EventRecord,
        kind: str,
        document_id: str,
        attachments: tuple[mail.AttachmentRef, ...] = (),
    ) -> None:
        """Record the message (once per event and kind) with its send job, which writes it with
        the renderer registered for `kind`: for a letter that says only what the event holds."""
        self._record(session, event, kind, document_id, None, attachments)

    def _record(
        self,
        session: Session,
        event: EventRecord,
        kind: str,
        document_id: str,
        content: mail.Content | None,
        attachments: tuple[mail.AttachmentRef, ...],
    ) -> None:
        mail.submit(
            session,
            event.tenant_id,
            mail.Draft(
                kind=kind,
                event_id=event.id,
                document_id=document_id,
                locale=self.locale,
                to_address=self.to_address,
                to_name=self.to_name,
                from_name=self.seller,
                reply_to=self.reply_to,
                content=content,
                attachments=attachments,
                timezone=self.timezone.key,
            ),
            event.created_at,
        )


# The words of one kind of letter, from the letter and the event's object: (subject, lines).
Write = Callable[[Letter, dict[str, Any]], tuple[str, list[str]]]


def written_by(texts: Texts, write: Write) -> mail.LetterRenderer:
    """The renderer the send job calls for a letter recorded with `due`."""

    def render(_session: Session, message: MailMessage, event: EventRecord) -> mail.Content:
        letter = Letter.sent_as(texts, message)
        subject, lines = write(letter, event.data["object"])
        return letter.content(subject, lines)

    return render


def html_body(language: str, subject: str, paragraphs: list[str], closing: list[str]) -> str:
    """Plain, inline-styled HTML: mail clients drop <style> blocks and external CSS."""
    body = "\n".join(f'<p style="margin:0 0 16px">{_linked(p)}</p>' for p in paragraphs)
    sign = "<br>".join(html.escape(line) for line in closing)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="margin:0;padding:24px;background:#ffffff;color:#1f2328;'
        "font-family:'Noto Sans','Noto Sans Devanagari','Segoe UI',Roboto,Arial,sans-serif;"
        'font-size:15px;line-height:1.5">\n'
        f'<div style="max-width:600px">\n{body}\n'
        f'<p style="margin:24px 0 0">{sign}</p>\n</div>\n</body></html>\n'
    )


def _linked(paragraph: str) -> str:
    """The paragraph escaped, with a URL that ends it (a pay link) made clickable."""
    head, sep, url = paragraph.rpartition(" ")
    if sep and url.startswith(("http://", "https://")):
        href = html.escape(url, quote=True)
        return f'{html.escape(head)} <a href="{href}" style="color:#0b57d0">{href}</a>'
    return html.escape(paragraph)


@lru_cache(maxsize=1024)
def _long_date(day: date, locale: str) -> str:
    """Remembered: Babel's answer never changes, and a billing run's letters share a few days."""
    return str(format_date(day, "long", locale=locale))
