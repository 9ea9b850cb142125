"""The chart of accounts every tenant gets, per currency, on first use.

Codes are stable (reports, exports and `verify` key on them) and follow the usual numbering: 1xxx
assets, 2xxx liabilities, 4xxx revenue, 6xxx expenses. Tax payable is one account per tax type,
because GST returns are filed per type (CGST, SGST/UTGST and IGST are separate heads) and VAT
returns are separate again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AccountType = Literal["asset", "liability", "revenue", "contra_revenue", "expense"]
Side = Literal["debit", "credit"]


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    type: AccountType
    # Which side increases it; a trial balance shows balances on this side as positive.
    normal_balance: Side


RECEIVABLE = Account("1100", "Accounts receivable", "asset", "debit")
CASH_CLEARING = Account("1200", "Cash and gateway clearing", "asset", "debit")
CUSTOMER_CREDIT = Account("2100", "Customer credit balances", "liability", "credit")
DEFERRED_REVENUE = Account("2200", "Deferred revenue", "liability", "credit")
REVENUE = Account("4000", "Revenue", "revenue", "credit")
SALES_RETURNS = Account("4900", "Sales returns and allowances", "contra_revenue", "debit")
BAD_DEBT = Account("6100", "Bad debts written off", "expense", "debit")

TAX_PAYABLE: dict[str, Account] = {
    "CGST": Account("2310", "CGST payable", "liability", "credit"),
    "SGST": Account("2320", "SGST payable", "liability", "credit"),
    "UTGST": Account("2330", "UTGST payable", "liability", "credit"),
    "IGST": Account("2340", "IGST payable", "liability", "credit"),
    "VAT": Account("2350", "VAT payable", "liability", "credit"),
}

ACCOUNTS: dict[str, Account] = {
    a.code: a
    for a in (
        RECEIVABLE,
        CASH_CLEARING,
        CUSTOMER_CREDIT,
        DEFERRED_REVENUE,
        *TAX_PAYABLE.values(),
        REVENUE,
        SALES_RETURNS,
        BAD_DEBT,
    )
}
TAX_TYPE_OF: dict[str, str] = {account.code: tax_type for tax_type, account in TAX_PAYABLE.items()}

# Accounts whose every line names the invoice it concerns, so `verify` can check them per
# invoice, and a void can reverse exactly what one invoice left in them.
INVOICE_ACCOUNTS = frozenset(
    {
        RECEIVABLE.code,
        DEFERRED_REVENUE.code,
        REVENUE.code,
        SALES_RETURNS.code,
        BAD_DEBT.code,
        *TAX_TYPE_OF,
    }
)
# Accounts whose every line names the customer, so credit balances are checked per customer.
CUSTOMER_ACCOUNTS = frozenset({CUSTOMER_CREDIT.code})


class UnknownTaxType(ValueError):
    """A tax type the chart has no payable account for: adding one is a deliberate change."""


def tax_payable(tax_type: str) -> Account:
    try:
        return TAX_PAYABLE[tax_type]
    except KeyError:
        raise UnknownTaxType(f"no tax payable account for tax type {tax_type!r}") from None
