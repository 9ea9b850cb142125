"""Fast, deterministic seeding of billable data: tenants and their catalogs through the API,
then customers, sandbox payment methods and active subscriptions in bulk.

Why two speeds. A tenant, its plans and coupons are few, and their rows (plan versions, prices,
API keys, invoice prefixes) come out of rules worth not copying, so they go through the real API.
Customers and subscriptions are many: 100,000 of them through HTTP would take hours, so they are
written straight into PostgreSQL (COPY into a temporary table, then one INSERT … SELECT per
table), shaped exactly as the API would have left them after the subscription renewed a few
times, with the current period ending at `due_at`: so the next renewal is due at `due_at`.

Used by the billing benchmark (`bench/billing.py`) and by tests that need thousands of customers
on a test clock; it imports nothing of the benchmarks. What the bulk path does NOT write: the
events (`customer.created`, `subscription.created`, …) and the invoices of past periods: a seeded
subscription's `latest_invoice_id` is NULL until its first renewal here.
"""

from __future__ import annotations

import base64
import json
import random
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL, Engine, make_url
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

from hisaab.customers import rules
from hisaab.subscriptions import periods
from hisaab.tax.in_states import BY_ISO

# --- tenants and catalogs (through the API) -------------------------------------------------

TENANT_PROFILES: tuple[dict[str, Any], ...] = (
    {
        "name": "Seed Learning Pvt Ltd",
        "country": "IN",
        "state": "KA",
        "gstin": "29AAACA1234A1ZG",
        "base_currency": "INR",
        "timezone": "Asia/Kolkata",
        "invoice_prefix": "SDIN",
        "lut": True,
        "email": "billing@seed-in.test",
    },
    {
        "name": "Seed Software GmbH",
        "country": "DE",
        "base_currency": "EUR",
        "timezone": "Europe/Berlin",
        "invoice_prefix": "SEEDDE",
        "email": "billing@seed-de.test",
        "tax_registrations": [{"scheme": "eu_vat", "number": "DE136695976"}],
    },
    {
        "name": "Seed Apps Ltd",
        "country": "GB",
        "base_currency": "GBP",
        "timezone": "Europe/London",
        "invoice_prefix": "SEEDGB",
        "email": "billing@seed-gb.test",
        "tax_registrations": [{"scheme": "gb_vat", "number": "GB980780684"}],
    },
    {
        "name": "Seed Cloud Inc",
        "country": "US",
        "state": "CA",
        "base_currency": "USD",
        "timezone": "America/Los_Angeles",
        "invoice_prefix": "SEEDUS",
        "email": "billing@seed-us.test",
    },
    {
        # Exports without a Letter of Undertaking: IGST on foreign customers too.
        "name": "Seed Tutors LLP",
        "country": "IN",
        "state": "MH",
        "gstin": "27AAACA1234A1ZK",
        "base_currency": "INR",
        "timezone": "Asia/Kolkata",
        "invoice_prefix": "SDMH",
        "lut": False,
        "email": "billing@seed-mh.test",
    },
)

# Monthly prices in every currency a seeded customer may pay in. Rupee amounts stay far below the
# RBI e-mandate limit (₹15,000 with tax, even at quantity 2), above which a renewal is not
# debited automatically but waits for the customer.
PLANS: tuple[dict[str, Any], ...] = (
    {
        "code": "starter",
        "name": "Starter",
        "prices": {"INR": 99_900, "USD": 1_900, "EUR": 1_900, "GBP": 1_500},
    },
    {
        "code": "pro",
        "name": "Pro",
        "prices": {"INR": 499_900, "USD": 4_900, "EUR": 4_500, "GBP": 3_900},
    },
)
PERCENT_COUPON = "SEED20"
AMOUNT_COUPON = "SEED5OFF"
# A GST tenant's foreign-currency invoices must record a declared INR rate (rule 34, CGST Rules).
INR_RATES = {"USD": "83.1250", "EUR": "90.4000", "GBP": "105.2500"}


@dataclass(frozen=True)
class SeededTenant:
    id: str
    name: str
    country: str
    base_currency: str
    secret: str  # the tenant's API key, to look at the seeded rows through the API


def seed_tenants(app: FastAPI, operator_token: str, count: int = 4) -> list[SeededTenant]:
    """`count` tenants (cycling through TENANT_PROFILES: IN with LUT, DE, GB, US, IN without
    LUT), each with the seeding catalog. Made through the API, like a real operator would."""
    seeded = []
    with TestClient(app, headers={"Authorization": f"Bearer {operator_token}"}) as operator:
        for n in range(count):
            profile = dict(TENANT_PROFILES[n % len(TENANT_PROFILES)])
            if n >= len(TENANT_PROFILES):
                profile["name"] = f"{profile['name']} {n}"
            body = _created(operator.post("/v1/tenants", json=profile))
            tenant, secret = body["tenant"], body["api_key"]["secret"]
            with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as http:
                seed_catalog(http)
            seeded.append(
                SeededTenant(
                    tenant["id"], tenant["name"], tenant["country"], tenant["base_currency"], secret
                )
            )
    return seeded


def seed_catalog(http: TestClient) -> None:
    """The plans and forever coupons seeded subscriptions use, and (for a GST tenant) the INR
    rates its foreign-currency invoices need; `http` is authenticated as the tenant."""
    tenant = http.get("/v1/tenant").json()
    for plan in PLANS:
        prices = [{"currency": c, "unit_amount": a} for c, a in sorted(plan["prices"].items())]
        _created(
            http.post(
                "/v1/plans",
                json={
                    "code": plan["code"],
                    "name": plan["name"],
                    "interval": "month",
                    "prices": prices,
                },
            )
        )
    _created(
        http.post(
            "/v1/coupons",
            json={"code": PERCENT_COUPON, "percent_off": "20", "duration": "forever"},
        )
    )
    _created(
        http.post(
            "/v1/coupons",
            json={
                "code": AMOUNT_COUPON,
                "amount_off": 500 if tenant["base_currency"] != "INR" else 5_000,
                "currency": tenant["base_currency"],
                "duration": "forever",
            },
        )
    )
    if tenant["gstin"]:
        for currency, rate in INR_RATES.items():
            response = http.put(
                f"/v1/exchange_rates/{currency}", json={"rate_to_inr": rate, "date": "2020-01-01"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"exchange rate {currency}: {response.text}")


def create_test_clock(http: TestClient, frozen_time: datetime) -> str:
    """A test clock of the tenant `http` speaks for; seed onto it with `clock_id=`."""
    body = _created(http.post("/v1/test_clocks", json={"frozen_time": _rfc3339(frozen_time)}))
    clock_id: str = body["id"]
    return clock_id


def _created(response: Any) -> dict[str, Any]:
    if response.status_code != 201:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- customers by tax case ------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One tax case: who the customer is, what it pays in, and how often it occurs."""

    name: str
    weight: int
    country: str
    currency: str
    locale: str
    states: tuple[str | None, ...] = (None,)
    tax_id: str | None = None  # "gstin", "vat_id" or None
    sez: bool = False


_IN_FOREIGN = (
    Segment("export_us", 10, "US", "USD", "en_US"),
    Segment("export_gb", 4, "GB", "USD", "en_GB"),
    Segment("export_de", 4, "DE", "USD", "de"),
)
SEGMENTS: dict[str, tuple[Segment, ...]] = {
    # Relative to a Karnataka tenant: CGST+SGST, IGST, SEZ, exports (LUT or IGST).
    "IN": (
        Segment("intra_state_b2c", 35, "IN", "INR", "en_IN", ("KA",)),
        Segment("intra_state_b2b", 12, "IN", "INR", "en_IN", ("KA",), "gstin"),
        Segment("inter_state_b2c", 18, "IN", "INR", "hi", ("MH", "DL", "TN", "GJ")),
        Segment("inter_state_b2b", 10, "IN", "INR", "en_IN", ("MH", "DL", "TN"), "gstin"),
        Segment("sez_unit", 3, "IN", "INR", "en_IN", ("KA", "MH"), "gstin", sez=True),
        *_IN_FOREIGN,
    ),
    # Relative to a German tenant: domestic, OSS consumers, reverse charge, outside the EU.
    "DE": (
        Segment("domestic_b2c", 40, "DE", "EUR", "de"),
        Segment("domestic_b2b", 10, "DE", "EUR", "de", tax_id="vat_id"),
        Segment("eu_b2c", 15, "FR", "EUR", "fr"),
        Segment("eu_b2b_reverse_charge", 15, "FR", "EUR", "fr", tax_id="vat_id"),
        Segment("non_eu", 20, "US", "USD", "en_US", ("CA", "NY", None)),
    ),
    "GB": (
        Segment("domestic_b2c", 50, "GB", "GBP", "en_GB"),
        Segment("domestic_b2b", 20, "GB", "GBP", "en_GB", tax_id="vat_id"),
        Segment("eu_unregistered", 15, "DE", "EUR", "de"),
        Segment("non_uk", 15, "US", "USD", "en_US"),
    ),
    "US": (
        Segment("domestic", 70, "US", "USD", "en_US", ("CA", "NY", "TX", "WA")),
        Segment("foreign", 30, "GB", "USD", "en_GB"),
    ),
}
# Any other tenant country: its own customers in its base currency, untaxed abroad.
_GENERIC = (Segment("domestic", 80, "", "", "en"), Segment("foreign", 20, "US", "USD", "en_US"))
_CITIES = {
    "IN": ("Bengaluru", "Mumbai", "Delhi", "Chennai"),
    "DE": ("Berlin", "München", "Hamburg"),
    "FR": ("Paris", "Lyon"),
    "GB": ("London", "Manchester"),
    "US": ("San Francisco", "New York", "Austin"),
}
_FIRST = ("Aarav", "Diya", "Lena", "Jonas", "Chloé", "Oliver", "Amelia", "Noah", "Priya", "Kabir")
_LAST = ("Sharma", "Iyer", "Müller", "Schmidt", "Martin", "Smith", "Jones", "Brown", "Rao", "Das")
_IDENTITY_POOL = 256  # distinct valid GSTINs / VAT numbers per (segment, state)


def _gstin(state: str, rng: random.Random) -> str:
    """A GSTIN of a company in `state`, checksum and all; validated by the caller."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pan = (
        "".join(rng.choice(letters) for _ in range(3))
        + "C"
        + rng.choice(letters)
        + f"{rng.randrange(1, 10_000):04d}"
        + rng.choice(letters)
    )
    body = f"{BY_ISO[state].gst_code}{pan}{rng.randrange(1, 10)}Z"
    return body + luhn.calc_check_digit(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _vat_id(country: str, rng: random.Random) -> str:
    """A VAT number of `country` with a valid check digit (DE, FR, GB); validated by the caller."""
    if country == "DE":
        digits = str(rng.randrange(10_000_000, 100_000_000))
        return f"DE{digits}{mod_11_10.calc_check_digit(digits)}"
    if country == "FR":
        head = str(rng.randrange(10_000_000, 100_000_000))
        siren = head + luhn.calc_check_digit(head)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "GB":
        head = str(rng.randrange(1_000_000, 10_000_000))
        weighted = sum(w * int(d) for w, d in zip((8, 7, 6, 5, 4, 3, 2), head, strict=True))
        return f"GB{head}{(-weighted) % 97:02d}"
    raise ValueError(f"no VAT number generator for {country}")


def _identities(segment: Segment, state: str | None, rng: random.Random) -> list[rules.TaxIdentity]:
    """Valid tax identities of a segment, each checked by the same rules the API applies."""
    pool = []
    for _ in range(_IDENTITY_POOL if segment.tax_id else 1):
        gstin = _gstin(state, rng) if segment.tax_id == "gstin" and state else None
        vat_id = _vat_id(segment.country, rng) if segment.tax_id == "vat_id" else None
        pool.append(
            rules.tax_identity(
                segment.country, None if gstin else state, gstin, vat_id, segment.sez
            )
        )
    return pool


# --- subscriptions in bulk ------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    id: str
    version: int
    code: str
    prices: dict[str, int]


@dataclass(frozen=True)
class _Coupon:
    id: str
    currency: str | None  # None: percent off, any currency


@dataclass(frozen=True)
class _Catalog:
    country: str
    base_currency: str
    zone: ZoneInfo
    plans: tuple[_Plan, ...]
    percent_coupon: _Coupon | None
    amount_coupon: _Coupon | None


@dataclass(frozen=True)
class _Schedule:
    """When every seeded subscription started, and its current period [start, due_at)."""

    anchor: datetime
    period_start: datetime
    due_at: datetime


@dataclass(frozen=True)
class SeedResult:
    customers: int
    subscriptions: int
    by_segment: dict[str, int]
    anchor: datetime  # when the seeded subscriptions started (their billing cycle anchor)


_STAGE_COLUMNS = (
    ("customer_id", "text"),
    ("name", "text"),
    ("email", "text"),
    ("phone", "text"),
    ("external_id", "text"),
    ("country", "text"),
    ("state", "text"),
    ("gstin", "text"),
    ("vat_id", "text"),
    ("sez", "boolean"),
    ("currency", "text"),
    ("locale", "text"),
    ("address", "jsonb"),
    ("customer_metadata", "jsonb"),
    ("customer_created_at", "timestamptz"),
    ("pm_id", "text"),
    ("pm_token", "text"),
    ("pm_created_at", "timestamptz"),
    ("subscription_id", "text"),
    ("plan_id", "text"),
    ("plan_version", "integer"),
    ("quantity", "integer"),
    ("unit_amount", "bigint"),
    ("coupon_id", "text"),
)
# The three tables from the staged rows. Customers and payment methods name each other
# (the default method is one of the customer's own, fk_customers_default_payment_method), and
# neither constraint is deferrable: one statement writes both, as PostgreSQL checks foreign keys
# at the end of the statement, when both rows exist.
_INSERT_CUSTOMERS_AND_METHODS = """
WITH customers AS (
    INSERT INTO customers (tenant_id, id, name, email, phone, external_id, country, state, gstin,
        vat_id, sez, currency, locale, address, test_clock_id, metadata,
        default_payment_method_id, created_at, updated_at)
    SELECT %(tenant_id)s, customer_id, name, email, phone, external_id, country, state, gstin,
        vat_id, sez, currency, locale, address, %(clock_id)s, customer_metadata, pm_id,
        customer_created_at, pm_created_at
    FROM seed_stage
)
INSERT INTO payment_methods (tenant_id, id, customer_id, gateway, token, type, created_at,
    detached_at)
SELECT %(tenant_id)s, pm_id, customer_id, 'sandbox', pm_token, 'card', pm_created_at, NULL
FROM seed_stage
"""
_INSERT_SUBSCRIPTIONS = """
INSERT INTO subscriptions (tenant_id, id, customer_id, test_clock_id, plan_id, plan_version,
    quantity, currency, unit_amount, status, collection_method, days_until_due, start_at,
    billing_cycle_anchor, current_period_start, current_period_end, trial_start, trial_end,
    trial_will_end_at, cancel_at_period_end, canceled_at, ended_at, paused_at, coupon_id,
    discount_end, latest_invoice_id, scheduled_change, next_action_at, metadata, created_at,
    updated_at)
SELECT %(tenant_id)s, subscription_id, customer_id, %(clock_id)s, plan_id, plan_version,
    quantity, currency, unit_amount, 'active', 'charge_automatically', NULL, %(anchor)s,
    %(anchor)s, %(period_start)s, %(due_at)s, NULL, NULL,
    NULL, false, NULL, NULL, NULL, coupon_id,
    NULL, NULL, NULL, %(due_at)s, '{}'::jsonb, %(anchor)s,
    %(period_start)s
FROM seed_stage
"""


def seed_subscriptions(
    target: Engine | URL | str,
    tenant_id: str,
    count: int,
    *,
    due_at: datetime,
    clock_id: str | None = None,
    seed: int = 0,
    coupon_share: float = 0.2,
    declined_share: float = 0.0,
    chunk: int = 50_000,
) -> SeedResult:
    """`count` customers of the tenant, each with a default sandbox card and one active monthly
    subscription (plan and coupon from the tenant's catalog, see `seed_catalog`) whose current
    period ends at `due_at`, so its renewal is due then.

    `target` is a database URL or engine; the owner role is simplest, the application role works
    too (the rows are written in the tenant's scope). With `clock_id` the customers live on that
    test clock (its time should be before `due_at`). The same arguments give the same rows, so
    vary `seed` to seed a tenant twice. `declined_share` of the cards are
    `pm_card_chargeDeclined` (renewals that fail and go to dunning).
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    rng = random.Random(f"{seed}:{tenant_id}:{clock_id}:{due_at.isoformat()}")
    by_segment: dict[str, int] = {}
    with _connection(target) as conn:
        catalog = _catalog(conn, tenant_id)
        schedule = _schedule(due_at, catalog.zone)
        mix = _mix(catalog, schedule, rng, coupon_share, declined_share)
        tag = f"{rng.getrandbits(32):08x}"
        done = 0
        while done < count:
            size = min(chunk, count - done)
            rows = [_row(rng, mix, f"{tag}-{done + i}", by_segment) for i in range(size)]
            _write(conn, tenant_id, clock_id, schedule, rows)
            done += size
    return SeedResult(count, count, by_segment, schedule.anchor)


@contextmanager
def _connection(target: Engine | URL | str) -> Iterator[psycopg.Connection[Any]]:
    if isinstance(target, Engine):
        raw = target.raw_connection()
        try:
            conn = raw.driver_connection
            if not isinstance(conn, psycopg.Connection):
                raise TypeError("seeding needs a psycopg engine")
            conn.commit()  # whatever the pool left open
            yield conn
        finally:
            raw.close()
        return
    url = make_url(target) if isinstance(target, str) else target
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        yield conn


def _scope(conn: psycopg.Connection[Any], tenant_id: str) -> None:
    """The tenant's scope for this transaction: what row-level security asks of the app role
    (the owner is not subject to it, and this changes nothing for it)."""
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))


def _catalog(conn: psycopg.Connection[Any], tenant_id: str) -> _Catalog:
    """The tenant's profile, current monthly plan versions with their prices, and coupons."""
    with conn.transaction():
        _scope(conn, tenant_id)
        tenant = conn.execute(
            "SELECT country, base_currency, timezone FROM tenants WHERE id = %s", (tenant_id,)
        ).fetchone()
        if tenant is None:
            raise LookupError(f"no tenant {tenant_id}")
        prices: dict[tuple[str, int, str], dict[str, int]] = {}
        for plan_id, version, code, currency, amount in conn.execute(
            """
            SELECT p.id, p.current_version, p.code, pp.currency, pp.unit_amount
            FROM plans p
            JOIN plan_versions v ON (v.tenant_id, v.plan_id, v.version)
                = (p.tenant_id, p.id, p.current_version)
            JOIN plan_prices pp ON (pp.tenant_id, pp.plan_id, pp.version)
                = (v.tenant_id, v.plan_id, v.version)
            WHERE p.tenant_id = %s AND p.archived_at IS NULL
                AND v.interval = 'month' AND v.interval_count = 1 AND v.trial_days = 0
                AND v.charges = '[]'::jsonb
            ORDER BY p.code, pp.currency
            """,
            (tenant_id,),
        ):
            prices.setdefault((plan_id, version, code), {})[currency] = amount
        coupons = conn.execute(
            """
            SELECT code, id, currency FROM coupons
            WHERE tenant_id = %s AND code = ANY(%s) AND status = 'active'
                AND duration = 'forever'
            """,
            (tenant_id, [PERCENT_COUPON, AMOUNT_COUPON]),
        ).fetchall()
    if not prices:
        raise LookupError(f"tenant {tenant_id} has no plain monthly plan: seed_catalog() first")
    found = {code: _Coupon(coupon_id, currency) for code, coupon_id, currency in coupons}
    return _Catalog(
        country=tenant[0],
        base_currency=tenant[1],
        zone=ZoneInfo(tenant[2]),
        plans=tuple(_Plan(i, v, c, p) for (i, v, c), p in prices.items()),
        percent_coupon=found.get(PERCENT_COUPON),
        amount_coupon=found.get(AMOUNT_COUPON),
    )


def _schedule(due_at: datetime, zone: ZoneInfo) -> _Schedule:
    """The latest start whose monthly periods (in the tenant's time zone, as `periods` counts
    them) have a boundary at `due_at`: one month back, or more when that month is too short to
    hold `due_at`'s day (a cycle anchored on the 31st renews on the 31st only after a long month).
    """
    due_at = due_at.astimezone(UTC)
    wall = due_at.astimezone(zone).replace(tzinfo=None)
    for back in range(1, 13):
        year, month = divmod(wall.year * 12 + wall.month - 1 - back, 12)
        try:
            start_wall = wall.replace(year=year, month=month + 1)
        except ValueError:  # no such day in that month
            continue
        anchor = start_wall.replace(tzinfo=zone).astimezone(UTC)
        if periods.boundary(anchor, "month", 1, back, zone) == due_at:
            start = periods.boundary(anchor, "month", 1, back - 1, zone)
            return _Schedule(anchor, start, due_at)
    raise ValueError(f"no monthly anchor has a period boundary at {due_at.isoformat()}")


def _segments(catalog: _Catalog) -> tuple[Segment, ...]:
    """The tenant's tax cases, limited to currencies its plans are priced in."""
    segments = SEGMENTS.get(catalog.country)
    if segments is None:
        segments = tuple(
            Segment(s.name, s.weight, s.country or catalog.country, s.currency, s.locale)
            if s.country
            else Segment(s.name, s.weight, catalog.country, catalog.base_currency, s.locale)
            for s in _GENERIC
        )
    priced = {currency for plan in catalog.plans for currency in plan.prices}
    usable = tuple(s for s in segments if s.currency in priced)
    if not usable:
        raise LookupError(f"no plan is priced in any of {sorted({s.currency for s in segments})}")
    return usable


@dataclass(frozen=True)
class _Mix:
    """Everything a row is drawn from, worked out once per call (weights made cumulative)."""

    catalog: _Catalog
    schedule: _Schedule
    segments: tuple[Segment, ...]
    segment_weights: tuple[int, ...]
    identities: dict[tuple[str, str | None], list[rules.TaxIdentity]]
    plans: dict[str, tuple[tuple[_Plan, ...], tuple[int, ...]]]  # by currency
    coupon_share: float
    declined_share: float


def _mix(
    catalog: _Catalog,
    schedule: _Schedule,
    rng: random.Random,
    coupon_share: float,
    declined_share: float,
) -> _Mix:
    segments = _segments(catalog)
    plans = {}
    for currency in {s.currency for s in segments}:
        priced = tuple(p for p in catalog.plans if currency in p.prices)
        # Three Starter subscriptions for each Pro one.
        plans[currency] = (
            priced,
            tuple(accumulate(3 if p.code == "starter" else 1 for p in priced)),
        )
    return _Mix(
        catalog,
        schedule,
        segments,
        tuple(accumulate(s.weight for s in segments)),
        {(s.name, st): _identities(s, st, rng) for s in segments for st in s.states},
        plans,
        coupon_share,
        declined_share,
    )


def _row(rng: random.Random, mix: _Mix, serial: str, by_segment: dict[str, int]) -> tuple[Any, ...]:
    """One staged row: a customer (created shortly before its subscription started), its default
    card (attached a moment later, which touched the customer), and its subscription."""
    catalog, schedule = mix.catalog, mix.schedule
    segment = rng.choices(mix.segments, cum_weights=mix.segment_weights)[0]
    by_segment[segment.name] = by_segment.get(segment.name, 0) + 1
    state = rng.choice(segment.states)
    identity = rng.choice(mix.identities[(segment.name, state)])
    plans, plan_weights = mix.plans[segment.currency]
    plan = rng.choices(plans, cum_weights=plan_weights)[0]
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = schedule.anchor - timedelta(microseconds=rng.randrange(2_000_000, 600_000_000))
    attached = created + timedelta(microseconds=rng.randrange(200_000, 2_000_000))
    number = serial.rsplit("-", 1)[1]
    company = identity.gstin or identity.vat_id
    name = f"{last} Technologies {number}" if company else f"{first} {last} {number}"
    mailbox = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    city = rng.choice(_CITIES.get(identity.country, ("Springfield",)))
    address = {
        "line1": f"{rng.randrange(1, 400)} Main Road",
        "city": city,
        "country": identity.country,
    }
    return (
        _ulid("cus", created, rng),
        name,
        f"{mailbox.lower()}.{serial}@example.test",
        f"+9198{rng.randrange(10_000_000, 100_000_000)}" if identity.country == "IN" else None,
        f"seed-{serial}",
        identity.country,
        identity.state,
        identity.gstin,
        identity.vat_id,
        identity.sez,
        segment.currency,
        segment.locale,
        json.dumps(address, ensure_ascii=False),
        json.dumps({"seed_segment": segment.name}),
        created,
        _ulid("pm", attached, rng),
        "pm_card_chargeDeclined" if rng.random() < mix.declined_share else "pm_card_visa",
        attached,
        _ulid("sub", schedule.anchor, rng),
        plan.id,
        plan.version,
        _quantity(rng, segment.currency),
        plan.prices[segment.currency],
        _coupon(rng, catalog, segment.currency, mix.coupon_share),
    )


def _quantity(rng: random.Random, currency: str) -> int:
    """Mostly one seat; rupee subscriptions at most two (see PLANS on the mandate limit)."""
    if rng.random() >= 0.1:
        return 1
    return 2 if currency == "INR" else rng.randrange(2, 6)


def _coupon(rng: random.Random, catalog: _Catalog, currency: str, share: float) -> str | None:
    """A forever coupon on `share` of the subscriptions, a quarter of them amount-off (only in
    the coupon's currency, as the API requires)."""
    if rng.random() >= share:
        return None
    amount = catalog.amount_coupon
    if amount is not None and amount.currency == currency and rng.random() < 0.25:
        return amount.id
    return catalog.percent_coupon.id if catalog.percent_coupon else None


# RFC 4648 base32 digits → the Crockford digits of `hisaab.core.ids` (lower case, no i l o u).
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz")


def _ulid(prefix: str, at: datetime, rng: random.Random) -> str:
    """An id in `hisaab.core.ids.new_id`'s format, for the instant `at`, from the seeded random,
    so that ids are reproducible and sort like ids the API would have made then. (The 130-bit
    body in 160 bits is base32 with six leading zero digits; the C encoder does the work.)"""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    body = base64.b32encode(value.to_bytes(20, "big")).decode().translate(_CROCKFORD)
    return f"{prefix}_{body[6:]}"


def _write(
    conn: psycopg.Connection[Any],
    tenant_id: str,
    clock_id: str | None,
    schedule: _Schedule,
    rows: list[tuple[Any, ...]],
) -> None:
    """One chunk in one transaction: COPY into a temporary table (COPY itself is refused on
    tables under row-level security for the app role), then INSERT … SELECT per table."""
    params = {
        "tenant_id": tenant_id,
        "clock_id": clock_id,
        "anchor": schedule.anchor,
        "period_start": schedule.period_start,
        "due_at": schedule.due_at,
    }
    columns = ", ".join(f"{name} {kind}" for name, kind in _STAGE_COLUMNS)
    with conn.transaction():
        _scope(conn, tenant_id)
        conn.execute(f"CREATE TEMPORARY TABLE seed_stage ({columns}) ON COMMIT DROP")
        with conn.cursor().copy("COPY seed_stage FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(_INSERT_CUSTOMERS_AND_METHODS, params)
        conn.execute(_INSERT_SUBSCRIPTIONS, params)
