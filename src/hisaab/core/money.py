"""Money as an integer of minor units plus an ISO 4217 code (DESIGN rule 1).

The number of minor units per major unit comes from Babel's CLDR currency data (JPY 0, INR 2,
KWD 3), never from a table of our own. Decimal appears only at the edges: converting a computed
Decimal amount to minor units, rounded once, half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache

import pycountry
from babel.numbers import format_currency, get_currency_precision, list_currencies

from hisaab.core.errors import invalid


class CurrencyError(ValueError):
    """Not an ISO 4217 currency we know, or two currencies mixed."""


# ISO 4217 codes that are not money one bills in: precious metals, testing and "no currency",
# SDR and bond-market units, and fund codes that shadow a real currency.
NOT_MONEY = frozenset(
    {
        "XAU", "XAG", "XPD", "XPT", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU",
        "XUA", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW",
    }
)  # fmt: skip


@cache
def _known_currencies() -> frozenset[str]:
    """Current ISO 4217 currencies (pycountry) that Babel has precision data for."""
    current = {currency.alpha_3 for currency in pycountry.currencies}
    return frozenset(current & {code.upper() for code in list_currencies()}) - NOT_MONEY


def normalize_currency(code: str) -> str:
    """`inr` → `INR`; raises CurrencyError for anything that is not an ISO 4217 code."""
    upper = code.strip().upper()
    if len(upper) != 3 or upper not in _known_currencies():
        raise CurrencyError(f"unknown currency {code!r}")
    return upper


def currency_code(code: str, loc: tuple[str | int, ...]) -> str:
    """`code` normalised, or the 422 `invalid_currency` every API answers, pointing at `loc`."""
    try:
        return normalize_currency(code)
    except CurrencyError:
        raise invalid("invalid_currency", f"{code!r} is not an ISO 4217 currency.", loc) from None


@cache
def exponent(currency: str) -> int:
    """Digits after the decimal point for this currency (INR 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(normalize_currency(currency)))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, major: Decimal, currency: str) -> Money:
        """Major units (₹12.345) to minor units, rounded half up once (→ 1235 paise)."""
        scaled = (major * (Decimal(10) ** exponent(currency))).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def format(self, locale: str = "en") -> str:
        """Human text in a locale (`₹1,00,000.00` in en_IN, `1.000,00 €` in de)."""
        return _formatted(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency}"


@lru_cache(maxsize=4096)
def _formatted(amount: int, currency: str, locale: str) -> str:
    """Remembered: Babel's answer never changes, costs more than the rest of an invoice email,
    and a tenant's invoices repeat a few prices (every renewal of a plan says the same)."""
    return str(format_currency(Money(amount, currency).to_decimal(), currency, locale=locale))


def total(amounts: list[Money], currency: str) -> Money:
    """The sum of amounts that must all be in `currency` (an empty list sums to zero)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
