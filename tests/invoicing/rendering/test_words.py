"""Amounts in words: Indian English (lakh, crore) for rupees in every locale, the invoice's
language for other currencies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.invoicing.rendering.words import amount_in_words, indian_words


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (0, "Rupees Zero Only"),
        (1, "Rupees Zero and One Paisa Only"),
        (50, "Rupees Zero and Fifty Paise Only"),
        (100, "Rupees One Only"),
        (10_100, "Rupees One Hundred One Only"),
        (99_999_00, "Rupees Ninety-Nine Thousand Nine Hundred Ninety-Nine Only"),
        (1_00_000_00, "Rupees One Lakh Only"),
        (1_00_001_00, "Rupees One Lakh One Only"),
        (2_36_000_00, "Rupees Two Lakh Thirty-Six Thousand Only"),
        (2_36_000_50, "Rupees Two Lakh Thirty-Six Thousand and Fifty Paise Only"),
        (99_99_999_00, (
            "Rupees Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine Only"
        )),
        (1_00_00_000_00, "Rupees One Crore Only"),
        (1_00_00_001_00, "Rupees One Crore One Only"),
        (12_34_56_789_05, (
            "Rupees Twelve Crore Thirty-Four Lakh Fifty-Six Thousand Seven Hundred "
            "Eighty-Nine and Five Paise Only"
        )),
        (99_99_99_999_00, (
            "Rupees Ninety-Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred "
            "Ninety-Nine Only"
        )),
        (1000_00_00_000_00, "Rupees One Thousand Crore Only"),
        (-500_00, "Minus Rupees Five Hundred Only"),
    ],
)  # fmt: skip
def test_rupees_in_indian_words(paise: int, words: str) -> None:
    assert amount_in_words(paise, "INR", "en") == words


@pytest.mark.parametrize("locale", ["en", "en_IN", "hi", "hi_IN", "de", "fr_FR", "xx"])
def test_rupees_are_indian_english_in_every_locale(locale: str) -> None:
    assert amount_in_words(2_36_000_00, "inr", locale) == "Rupees Two Lakh Thirty-Six Thousand Only"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "words"),
    [
        (236_00, "EUR", "de", "Zweihundertsechsunddreißig Euro"),
        (236_50, "EUR", "de_DE", "Zweihundertsechsunddreißig Euro und fünfzig Cent"),
        (236_50, "EUR", "fr", "Deux cent trente-six euros et cinquante centimes"),
        (100_00, "EUR", "fr", "Cent euros"),
        (236_00, "USD", "en", "Two hundred and thirty-six US dollars"),
        (236_50, "USD", "en", "Two hundred and thirty-six dollars, fifty cents"),
        (236_50, "USD", "hi", "Two hundred and thirty-six dollars, fifty cents"),
        (236_50, "SGD", "en", "Two hundred and thirty-six Singapore dollars 50/100"),
        (23_600, "JPY", "en", "Twenty-three thousand, six hundred Japanese yen"),
        (1_234, "KWD", "en", "One Kuwaiti dinar 234/1000"),
    ],
)
def test_other_currencies_in_the_invoice_language(
    minor: int, currency: str, locale: str, words: str
) -> None:
    assert amount_in_words(minor, currency, locale) == words


@given(st.integers(min_value=0, max_value=10**15))
def test_every_rupee_amount_has_words(rupees: int) -> None:
    words = indian_words(rupees)
    assert words
    assert "," not in words
    assert " and " not in words
    assert all(part[0].isupper() for word in words.split() for part in word.split("-"))
