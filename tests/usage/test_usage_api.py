"""GET /v1/customers/{id}/usage: the current period's usage per meter."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hisaab.usage import service
from tests.usage.conftest import Usage


def test_without_a_subscription_the_period_is_the_calendar_month_of_the_customers_clock(
    usage: Usage,
) -> None:
    customer = usage.customer()
    usage.send(
        [
            {
                "id": "1",
                "customer_id": customer,
                "meter": "tokens",
                "timestamp": "2031-06-15T11:00:00Z",
                "properties": {"tokens": 1.5},
            },
            {
                "id": "2",
                "customer_id": customer,
                "meter": "tokens",
                "timestamp": "2031-06-01T00:00:00+05:30",
                "properties": {"tokens": 2},
            },
            # 31 May in UTC but 1 June in Kolkata, the tenant's timezone: counted.
            {
                "id": "3",
                "customer_id": customer,
                "meter": "users",
                "timestamp": "2031-05-31T19:00:00Z",
                "properties": {"user": "a"},
            },
            # Before 1 June in Kolkata: May's.
            {
                "id": "4",
                "customer_id": customer,
                "meter": "users",
                "timestamp": "2031-05-31T18:29:59Z",
                "properties": {"user": "b"},
            },
        ]
    )
    body = usage.tenant.http.get(f"/v1/customers/{customer}/usage").json()
    assert body["object"] == "customer_usage"
    assert body["customer_id"] == customer
    assert body["period_source"] == "calendar_month"
    assert body["period_start"] == "2031-05-31T18:30:00Z"
    assert body["period_end"] == "2031-06-30T18:30:00Z"
    assert body["meters"] == [
        {"meter": "calls", "aggregation": "count", "value": "0"},
        {"meter": "peak", "aggregation": "max", "value": "0"},
        {"meter": "seats", "aggregation": "latest", "value": "0"},
        {"meter": "tokens", "aggregation": "sum", "value": "3.5"},
        {"meter": "users", "aggregation": "unique_count", "value": "1"},
    ]
    one = usage.tenant.http.get(f"/v1/customers/{customer}/usage", params={"meter": "tokens"})
    assert one.json()["meters"] == [{"meter": "tokens", "aggregation": "sum", "value": "3.5"}]
    missing = usage.tenant.http.get(f"/v1/customers/{customer}/usage", params={"meter": "nope"})
    assert (missing.status_code, missing.json()["code"]) == (404, "resource_missing")
    assert usage.tenant.http.get("/v1/customers/cus_nope/usage").status_code == 404


def test_calendar_months_and_decimal_text() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    assert service.calendar_month(datetime(2031, 12, 31, 20, tzinfo=UTC), kolkata) == (
        datetime(2031, 12, 31, 18, 30, tzinfo=UTC),
        datetime(2032, 1, 31, 18, 30, tzinfo=UTC),
    )
    assert [
        service.decimal_text(d)
        for d in (
            Decimal("1000"),
            Decimal("12.500"),
            Decimal("0E-7"),
            Decimal("1E+3"),
            Decimal("-0.50"),
        )
    ] == ["1000", "12.5", "0", "1000", "-0.5"]
