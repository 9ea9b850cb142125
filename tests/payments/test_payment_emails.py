"""What the customer is mailed about payments, received by a real SMTP server on loopback: a
failed renewal (reason, next retry, pay link), a payment that needs their approval, and the RBI
pre-debit notice before an Indian mandate is debited."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest

from hisaab.payments import links
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.mail.conftest import SmtpServer, mailing, smtp_server, unique_email

__all__ = ["mailing", "smtp_server"]  # the fixtures, shared with tests/mail

PRO = 200000  # ₹2,000.00
INDIAN = {"country": "IN", "state": "MH"}


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def of_kind(inbox: SmtpServer, address: str, subject_part: str) -> list[EmailMessage]:
    return [m for m in inbox.inbox.to(address) if subject_part in str(m["Subject"])]


def pay_link(text: str) -> tuple[str, str] | None:
    found = re.search(r"https?://\S+/pay/(\S+)", text)
    assert found, text
    return links.read_token(found.group(1))


def rupees(paise: int) -> str:
    return f"₹{paise / 100:,.2f}"


def renewal(
    billing: Billing, card: str, plan_amount: int = PRO, **customer: Any
) -> tuple[str, str, dict[str, Any]]:
    """(clock, email, renewal invoice) for a subscription whose card then turns to `card`."""
    email = unique_email()
    clock = billing.clock("2026-03-01T09:00:00Z")
    customer_id = billing.customer(clock, email=email, **customer)
    sub = billing.subscribe(customer_id, billing.plan("pro", plan_amount))
    billing.pay_with(customer_id, card)
    billing.advance(clock, "2026-04-01T09:00:00Z")
    return clock, email, billing.invoices(sub["id"])[-1]


def test_a_failed_renewal_mails_the_reason_the_next_retry_and_the_link(
    billing: Billing, mailing: SmtpServer
) -> None:
    clock, email, invoice = renewal(billing, "pm_card_chargeDeclinedInsufficientFunds")
    [message] = of_kind(mailing, email, "failed")
    assert message["Subject"] == (
        f"Payment for invoice {invoice['number']} from Acme Learning Pvt Ltd failed"
    )
    body = text_of(message)
    assert (
        f"We could not collect your payment of ₹2,000.00 for invoice {invoice['number']}." in body
    )
    assert "Reason: there were not enough funds in the account." in body
    assert "We will try again automatically on April 2, 2026." in body
    assert pay_link(body) == (billing.tenant.id, invoice["id"])
    assert '<a href="http' in html_of(message)
    assert str(message["Reply-To"]).endswith("<billing@acme.test>")

    billing.advance(clock, "2026-04-02T12:00:00Z")
    second = of_kind(mailing, email, "failed")
    assert len(second) == 2, "each failed try mails once"
    assert "We will try again automatically on April 4, 2026." in text_of(second[-1])


def test_an_authentication_demand_mails_the_link_in_hindi(
    billing: Billing, mailing: SmtpServer
) -> None:
    _, email, invoice = renewal(billing, "pm_card_authenticationRequired", locale="hi")
    [message] = of_kind(mailing, email, "स्वीकृति")
    assert message["Subject"] == (
        f"Acme Learning Pvt Ltd: इनवॉइस {invoice['number']} के भुगतान के लिए आपकी स्वीकृति चाहिए"
    )
    body = text_of(message)
    assert body.startswith("नमस्ते Asha Rao,")
    assert (
        f"इनवॉइस {invoice['number']} के ₹2,000.00 के भुगतान के लिए आपके बैंक को आपकी पुष्टि चाहिए।" in body
    )
    assert "भुगतान यहाँ पूरा करें: http" in body
    assert pay_link(body) == (billing.tenant.id, invoice["id"])
    assert '<html lang="hi">' in html_of(message)


def test_an_indian_debit_above_the_limit_asks_for_approval(
    billing: Billing, mailing: SmtpServer
) -> None:
    _, email, invoice = renewal(billing, "pm_card_visa", plan_amount=20_000_00, **INDIAN)
    [message] = of_kind(mailing, email, "approval")
    body = text_of(message)
    assert "Under RBI rules, automatic payments above ₹15,000 need your approval." in body
    amount = rupees(invoice["amount_due"])  # with IGST: above the limit either way
    assert f"Please approve the payment of {amount} for invoice {invoice['number']}." in body
    assert pay_link(body) == (billing.tenant.id, invoice["id"])
    assert not of_kind(mailing, email, "Upcoming debit"), "no debit is coming: no notice"


@pytest.mark.parametrize(
    ("locale", "subject", "lines"),
    [
        (
            "en",
            "Upcoming debit of ₹2,360.00 on April 2, 2026 by Acme Learning Pvt Ltd",
            [
                "As per your e-mandate, Acme Learning Pvt Ltd will debit ₹2,360.00 from your "
                "account on April 2, 2026, 2:30\u202fPM IST.",
                "Purpose: payment of invoice {number}. Reference: {payment}.",
                "If you do not want this debit, cancel it or your mandate before April 2, 2026, "
                "2:30\u202fPM IST by writing to billing@acme.test.",
                "You can also cancel the mandate at any time with your bank, card issuer or UPI "
                "app.",
            ],
        ),
        (
            "hi",
            "Acme Learning Pvt Ltd: 2 अप्रैल 2026 को ₹2,360.00 की आगामी कटौती की सूचना",
            [
                "आपके ई-मैंडेट के अनुसार Acme Learning Pvt Ltd आपके खाते से 2 अप्रैल 2026, "
                "2:30 pm IST को ₹2,360.00 काटेगा।",
                "उद्देश्य: इनवॉइस {number} का भुगतान। संदर्भ: {payment}।",
                "यदि आप यह कटौती नहीं चाहते, तो 2 अप्रैल 2026, 2:30 pm IST से पहले "
                "billing@acme.test पर लिखकर इसे या अपना मैंडेट रद्द करें।",
            ],
        ),
    ],
)
def test_an_indian_mandate_gets_the_pre_debit_notice_a_day_ahead(
    billing: Billing, mailing: SmtpServer, locale: str, subject: str, lines: list[str]
) -> None:
    _, email, invoice = renewal(billing, "pm_upi_success", locale=locale, **INDIAN)
    # With IGST (Maharashtra buys from Karnataka): ₹2,360.00.
    [scheduled] = billing.get("/v1/payments", invoice_id=invoice["id"])["data"]
    assert scheduled["scheduled_at"] == "2026-04-02T09:00:00Z"
    [message] = [m for m in mailing.inbox.to(email) if m["Subject"] == subject]
    body = text_of(message)
    for line in lines:
        assert line.format(number=invoice["number"], payment=scheduled["id"]) in body, body
    assert pay_link(body) == (billing.tenant.id, invoice["id"])
