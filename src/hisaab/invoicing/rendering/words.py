"""The amount of an invoice in words, pure.

Rupee amounts are written the way Indian accounts write them, in every locale of the invoice:
lakh and crore (num2words' `en_IN`), each word capitalised, no "and" inside the number,
"Rupees … Only", and the paise after "and" ("Rupees Two Lakh Thirty-Six Thousand and Fifty
Paise Only"). There is no Hindi converter to use instead, and a chartered accountant reading a
Hindi invoice expects exactly this English line anyway.

Other currencies are written in the invoice's language where num2words knows both the language
and the currency, in English where it knows only the currency, and as the cardinal plus Babel's
(localised) currency name otherwise, with any minor units as a fraction ("… 50/100"), the
cheque-writer's convention.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import get_currency_name
from num2words import CONVERTER_CLASSES, num2words

from hisaab.core.money import Money, exponent

__all__ = ["amount_in_words", "indian_words"]

_CRORE = 10**7
_SEPARATORS = re.compile(r",|\band\b")
_SPACES = re.compile(r"\s+")


def _title(words: str) -> str:
    """ "two lakh thirty-six" → "Two Lakh Thirty-Six" (hyphenated parts capitalised too)."""
    return " ".join("-".join(p.capitalize() for p in w.split("-")) for w in words.split())


def indian_words(number: int) -> str:
    """A non-negative whole number in Indian English words, title case, without "and".

    num2words' `en_IN` stops below 1000 crore; larger amounts are counted in crores, as
    Indian accounts do ("One Thousand Two Hundred Crore").
    """
    if number < 0:
        raise ValueError("indian_words takes a non-negative number")
    if number >= _CRORE:
        crores, rest = divmod(number, _CRORE)
        head = f"{indian_words(crores)} Crore"
        return f"{head} {indian_words(rest)}" if rest else head
    words = _SEPARATORS.sub(" ", num2words(number, lang="en_IN"))
    return _title(_SPACES.sub(" ", words).strip())


def _rupees(amount_minor: int) -> str:
    rupees, paise = divmod(abs(amount_minor), 100)
    text = f"Rupees {indian_words(rupees)}"
    if paise:
        text += f" and {indian_words(paise)} {'Paisa' if paise == 1 else 'Paise'}"
    text += " Only"
    return f"Minus {text}" if amount_minor < 0 else text


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower()


def _spelled(value: Decimal, currency: str, lang: str, exponent: int) -> str:
    """The cardinal and the currency's name, both in `lang`; minor units as a fraction."""
    whole = int(value)
    minor = int((value - whole).scaleb(exponent))
    text = f"{num2words(whole, lang=lang)} {get_currency_name(currency, count=whole, locale=lang)}"
    if minor:
        text += f" {minor:0{exponent}d}/{10**exponent}"
    return text


def amount_in_words(amount_minor: int, currency: str, locale: str) -> str:
    """`amount_minor` of `currency` in words for an invoice in `locale` (see the module text)."""
    currency = currency.upper()
    if currency == "INR":
        return _rupees(amount_minor)
    places = exponent(currency)
    value = Money(abs(amount_minor), currency).to_decimal()
    language = _language(locale)
    lang = language if language in CONVERTER_CLASSES else "en"
    text: str | None = None
    # num2words says "zero cents" of a whole amount, which reads better without them.
    if value != value.to_integral_value():
        try:
            text = num2words(value, lang=lang, to="currency", currency=currency)
        except (NotImplementedError, KeyError):
            text = None
    try:
        text = text or _spelled(value, currency, lang, places)
    except OverflowError:  # beyond num2words' range: no invoice gets there, but never fail
        text = f"{value} {currency}"
    text = text[0].upper() + text[1:]
    return f"- {text}" if amount_minor < 0 else text
