"""Helpers for billing flows through HTTP: a tenant's catalog, customers on a test clock, and
moving the clock forward until its work is done."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import TenantHandle


@dataclass
class Billing:
    """One tenant's view of the API, with the steps every billing scenario takes."""

    tenant: TenantHandle
    run_jobs: Any
    # What new customers pay with (None: nothing attached) and how subscriptions collect by
    # default; `Billing.invoiced` keeps invoices open for scenarios about unpaid invoices.
    payment_method: str | None = "pm_card_visa"
    collection_method: str | None = None
    _plan_numbers: itertools.count[int] = field(default_factory=itertools.count)

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = self.tenant.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        response = self.tenant.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def clock(self, frozen_time: str) -> str:
        return str(self.post("/v1/test_clocks", {"frozen_time": frozen_time}, 201)["id"])

    def advance(self, clock_id: str, frozen_time: str) -> None:
        self.post(f"/v1/test_clocks/{clock_id}/advance", {"frozen_time": frozen_time})
        self.run_jobs()
        clock = self.get(f"/v1/test_clocks/{clock_id}")
        assert clock["status"] == "ready", clock

    def plan(self, code: str, amount: int, interval: str = "month", **extra: Any) -> str:
        body = {
            "code": f"{code}-{next(self._plan_numbers)}",
            "name": code.title(),
            "interval": interval,
            "interval_count": 1,
            "prices": [{"currency": "INR", "unit_amount": amount}],
            **extra,
        }
        return str(self.post("/v1/plans", body, 201)["id"])

    @classmethod
    def invoiced(cls, tenant: TenantHandle, run_jobs: Any) -> Billing:
        """Customers who pay their invoices by bank transfer: invoices stay open until paid."""
        return cls(tenant, run_jobs, payment_method=None, collection_method="send_invoice")

    def customer(self, clock_id: str | None, payment_method: str | None = "", **extra: Any) -> str:
        """By default a US company paying in rupees with a card that works: an export under the
        tenant's LUT, so GST is zero-rated and the scenarios' totals are the plan prices
        (tests/e2e/test_invoice_tax.py covers the taxed cases)."""
        body = {
            "name": "Asha Rao",
            "email": "asha@example.test",
            "country": "US",
            "currency": "INR",
            **({"test_clock_id": clock_id} if clock_id else {}),
            **extra,
        }
        customer_id = str(self.post("/v1/customers", body, 201)["id"])
        method = self.payment_method if payment_method == "" else payment_method
        if method is not None:
            self.pay_with(customer_id, method)
        return customer_id

    def pay_with(self, customer_id: str, token: str) -> str:
        """Attach a sandbox payment method as the customer's default."""
        body = {"gateway": "sandbox", "token": token, "default": True}
        return str(self.post(f"/v1/customers/{customer_id}/payment_methods", body, 201)["id"])

    def subscribe(self, customer_id: str, plan_id: str, **extra: Any) -> dict[str, Any]:
        defaults = {"collection_method": self.collection_method} if self.collection_method else {}
        body = {"customer_id": customer_id, "plan_id": plan_id, **defaults, **extra}
        result: dict[str, Any] = self.post("/v1/subscriptions", body, 201)
        return result

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/subscriptions/{subscription_id}")
        return result

    def invoices(self, subscription_id: str) -> list[dict[str, Any]]:
        """Every invoice of the subscription, oldest first."""
        found = self.get("/v1/invoices", subscription_id=subscription_id, limit=100)
        assert not found["has_more"]
        return list(reversed(found["data"]))

    def events(self, object_id: str) -> list[str]:
        found = self.get("/v1/events", object_id=object_id, limit=100)
        return [e["type"] for e in reversed(found["data"])]


# A tenant outside the EU selling to EU consumers under the non-Union OSS scheme.
EU_OSS_TENANT = {
    "name": "Acme Cloud Ltd",
    "country": "US",
    "state": None,
    "gstin": None,
    "lut": False,
    "base_currency": "EUR",
    "timezone": "UTC",
    "invoice_prefix": "ACME",
    "tax_registrations": [{"scheme": "eu_oss", "number": "EU372000041"}],
}


def eu_oss_billing(make_tenant: Any, run_jobs: Any) -> tuple[Billing, str]:
    """An EU OSS tenant and a monthly €100.00 plan."""
    billing = Billing(make_tenant(**EU_OSS_TENANT), run_jobs)
    return billing, billing.plan("pro", 10_000, prices=[{"currency": "EUR", "unit_amount": 10_000}])
