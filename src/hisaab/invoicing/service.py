"""Use cases of invoices: issue (draft → open, numbered, taxed, credit applied), pay out of band,
void, mark uncollectible, read; and the pending items and credit balance behind them.

Other domains describe what to bill as an `InvoiceDraft`; everything that makes it a legal
document (number, tax, totals, the customer as of today, events) happens here, in the caller's
transaction, so an invoice exists exactly when its cause committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.orm import Session

from hisaab.clocks import service as clocks
from hisaab.core import bulk
from hisaab.core.errors import conflict
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.customers import service as customers
from hisaab.invoicing import collection, exchange_rates, numbering, repository
from hisaab.invoicing.discounts import Discount, DiscountableLine, line_discounts
from hisaab.invoicing.models import (
    PERIOD_REASONS,
    CreditTransaction,
    Invoice,
    InvoiceLine,
    PendingItem,
)
from hisaab.invoicing.schemas import InvoiceOut
from hisaab.ledger import service as ledger
from hisaab.tax import service as tax
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events

if TYPE_CHECKING:
    from hisaab.tenants.models import Tenant

# Statuses from which money can still arrive or the invoice be written off.
COLLECTIBLE = frozenset({"open", "uncollectible"})


@dataclass(frozen=True)
class LineDraft:
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime
    period_end: datetime
    plan_id: str | None
    plan_version: int | None
    sac_code: str | None
    tax_behavior: str


@dataclass(frozen=True)
class UsageLineDraft(LineDraft):
    """A line billing metered usage; `usage` is what it measured and how it was priced."""

    usage: dict[str, Any]


@dataclass(frozen=True)
class InvoiceDraft:
    customer_id: str
    subscription_id: str
    test_clock_id: str | None
    billing_reason: str
    collection_method: str
    days_until_due: int | None
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    lines: tuple[LineDraft, ...]
    discount: Discount | None
    # Chosen ahead when the caller needs to name the invoice before it is issued (a batch).
    invoice_id: str | None = None


# --- reading -------------------------------------------------------------------------------


def get(session: Session, tenant_id: str, invoice_id: str, *, for_update: bool = False) -> Invoice:
    if not for_update and (issued := bulk.recall(session, _unwritten_key(invoice_id))):
        return cast(Invoice, issued)  # issued in this batch, not written yet (`_number`)
    return found(
        "invoice",
        "in",
        invoice_id,
        lambda: repository.get(session, tenant_id, invoice_id, for_update=for_update),
    )


def read(session: Session, invoice_id: str) -> InvoiceOut:
    """The invoice as the API shows it, in two statements instead of `present(get(…))`'s three:
    a read of one invoice is the API's most frequent request."""
    invoice, credited = found(
        "invoice", "in", invoice_id, lambda: repository.get_with_credited(session, invoice_id)
    )
    return _present(invoice, repository.lines_of(session, [invoice.id])[invoice.id], credited)


def present(session: Session, invoice: Invoice) -> InvoiceOut:
    return present_many(session, [invoice])[0]


def present_many(session: Session, invoices: Sequence[Invoice]) -> list[InvoiceOut]:
    if not invoices:
        return []
    ids = tuple(i.id for i in invoices)
    lines, credited = bulk.memo(
        session, _presentation_key(ids), lambda: _presentation(session, ids)
    )
    return [
        _present(invoice, lines.get(invoice.id, []), credited.get(invoice.id, 0))
        for invoice in invoices
    ]


def lock_many(session: Session, invoice_ids: Sequence[str]) -> list[Invoice]:
    """The invoices of these ids (RLS: the transaction's tenant's), locked, in id order, so two
    batches never deadlock."""
    return repository.lock_many(session, sorted(set(invoice_ids)))


def read_ahead(session: Session, invoices: Sequence[Invoice]) -> None:
    """Read the lines and credited totals of a batch's invoices at once, for `present` of each
    inside the batch."""
    lines, credited = _presentation(session, [invoice.id for invoice in invoices])
    for invoice in invoices:
        one = {invoice.id: lines.get(invoice.id, [])}, {invoice.id: credited.get(invoice.id, 0)}
        bulk.remember(session, _presentation_key((invoice.id,)), one)


def _presentation_key(ids: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    return ("invoice_presentation", ids)


def _presentation(
    session: Session, ids: Sequence[str]
) -> tuple[dict[str, list[InvoiceLine]], dict[str, int]]:
    """What `present` reads besides the invoice: its lines, and what credit notes took off.
    Lines `issue` wrote in this `memoizing` block are not read back: a finalized invoice's lines
    never change."""
    lines: dict[str, list[InvoiceLine]] = {}
    for invoice_id in ids:
        if (issued := bulk.recall(session, _issued_key(invoice_id))) is not None:
            lines[invoice_id] = issued
    unknown = [i for i in ids if i not in lines]
    if unknown:
        lines.update(repository.lines_of(session, unknown))
    return lines, repository.credited_totals(session, ids)


def _unwritten_key(invoice_id: str) -> tuple[str, str]:
    return ("unwritten_invoice", invoice_id)


def _issued_key(invoice_id: str) -> tuple[str, str]:
    return ("issued_lines", invoice_id)


# The fields of the API's invoice the model holds as they are (the rest are built below).
_INVOICE_COLUMNS = tuple(name for name in InvoiceOut.model_fields if hasattr(Invoice, name))


def _present(invoice: Invoice, lines: Sequence[InvoiceLine], credited: int = 0) -> InvoiceOut:
    """`credited`: what credit notes took off it, summed from them (a new invoice has none)."""
    # Loaded values straight from the instance (a third of the cost of presenting, three times
    # per invoice a billing run issues and collects); an expired one is loaded as usual.
    loaded = invoice.__dict__
    columns = {
        name: loaded[name] if name in loaded else getattr(invoice, name)
        for name in _INVOICE_COLUMNS
    }
    return InvoiceOut.model_validate(
        {
            **columns,
            "lines": lines,
            "customer": invoice.customer_snapshot,
            "amount_credited": credited,
        },
        from_attributes=True,
    )


def list_invoices(
    session: Session,
    page: PageRequest,
    customer_id: str | None,
    subscription_id: str | None,
    status: str | None,
) -> Slice[Invoice]:
    return repository.list_invoices(session, page, customer_id, subscription_id, status)


def credit_balance(session: Session, tenant_id: str, customer_id: str) -> tuple[str, int]:
    customer = customers.get_customer(session, tenant_id, customer_id)
    return customer.currency, repository.credit_balance(session, customer.id, customer.currency)


# --- pending items -------------------------------------------------------------------------


def add_pending_items(
    session: Session,
    tenant_id: str,
    customer_id: str,
    subscription_id: str,
    currency: str,
    lines: Sequence[LineDraft],
    now: datetime,
) -> None:
    """Charges and credits that wait for the subscription's next invoice."""
    repository.add(
        session,
        *(
            PendingItem(
                **vars(line),
                tenant_id=tenant_id,
                id=new_id("ii"),
                customer_id=customer_id,
                subscription_id=subscription_id,
                currency=currency,
                invoice_id=None,
                created_at=now,
            )
            for line in lines
        ),
    )


def has_pending_items(session: Session, subscription_id: str) -> bool:
    return repository.has_pending_items(session, subscription_id)


def _as_line(item: PendingItem) -> LineDraft:
    return LineDraft(**{f.name: getattr(item, f.name) for f in fields(LineDraft)})


# --- issuing -------------------------------------------------------------------------------


def issue(
    session: Session,
    tenant_id: str,
    draft: InvoiceDraft,
    now: datetime,
    *,
    pending: Sequence[PendingItem] | None = None,
) -> Invoice:
    """Bill the draft's lines and every pending item of its subscription, then finalize;
    `pending`: those items when the caller knows them (a new subscription has none).

    The caller holds the subscription's row lock; a second invoice for the same period is still
    impossible because the database refuses it (uq_invoices_subscription_period).
    """
    tenant, invoice, lines, items = _build(session, tenant_id, draft, now, pending)
    # `invoice.created` shows the draft; the row is written once, already numbered and open
    # (as `issue_many` does), instead of inserted as a draft and then updated.
    events.emit(session, tenant_id, "invoice.created", _present(invoice, lines), now)
    _seal(invoice, now, draft.days_until_due)
    _number(session, tenant, [invoice], now)
    # Written with what it points at (a subscription being created): one flush, one statement
    # a table (`core.set_flush`); in a batch, by its closing flush (`_number`).
    session.add_all([invoice, *lines])
    if not bulk.collecting(session):
        session.flush()
    bulk.remember(session, _issued_key(invoice.id), lines)
    for item in items:
        item.invoice_id = invoice.id
    _finalize(session, tenant, invoice, lines, now)
    return invoice


def issue_many(
    session: Session, tenant_id: str, drafts: Sequence[InvoiceDraft], now: datetime
) -> list[Invoice]:
    """`issue` for a batch of drafts (the billing run, inside `bulk.batch`): the same documents
    and events, with what they need read once for the whole batch and numbers taken from each
    series in one step."""
    customers.load_many(session, (draft.customer_id for draft in drafts))
    with_pending = repository.subscriptions_with_pending_items(
        session, [draft.subscription_id for draft in drafts]
    )
    built: list[tuple[Invoice, list[InvoiceLine]]] = []
    billed_items: list[tuple[Invoice, Sequence[PendingItem]]] = []
    for draft in drafts:
        pending = None if draft.subscription_id in with_pending else ()
        tenant, invoice, lines, items = _build(session, tenant_id, draft, now, pending)
        events.emit(session, tenant_id, "invoice.created", _present(invoice, lines), now)
        built.append((invoice, lines))
        billed_items.append((invoice, items))
    tenant = tenants.get_tenant(session, tenant_id)
    with_credit = repository.customers_with_credit(
        session, sorted({draft.customer_id for draft in drafts})
    )
    # Dated, opened and numbered before they are written: each invoice is inserted once, sealed,
    # and all of them (then all their lines) in one statement, by the batch's closing flush.
    for (invoice, _), draft in zip(built, drafts, strict=True):
        _seal(invoice, now, draft.days_until_due)
    _number(session, tenant, [invoice for invoice, _ in built], now)
    session.add_all([invoice for invoice, _ in built])
    session.add_all([line for _, lines in built for line in lines])
    for invoice, items in billed_items:
        for item in items:
            item.invoice_id = invoice.id
    for invoice, lines in built:
        may_spend = (invoice.customer_id, invoice.currency) in with_credit
        _finalize(session, tenant, invoice, lines, now, may_spend)
    return [invoice for invoice, _ in built]


def _number(session: Session, tenant: Tenant, invoices: Sequence[Invoice], now: datetime) -> None:
    """Number the sealed invoices, in order, now or, in a batch, as late as it can.

    Taking a number locks the series' row until the commit (`repository.next_number`), and
    every other issuer of the tenant waits for it: taken here, the lock would be held through
    the ledger, events and payments still to come, then all the batch's writes. In a batch the
    invoices hold a stand-in (as do the events and letters that name them meanwhile) until the
    flush that writes them takes their numbers, which replace the stand-ins in the rows the
    batch collected (`bulk.stand_in`). Numbers stay gapless, and in the order of the commits."""
    if not bulk.collecting(session):
        _take_numbers(session, tenant, invoices, now)
        return
    for invoice in invoices:
        invoice.number = bulk.stand_in(invoice.id)
        bulk.remember(session, _unwritten_key(invoice.id), invoice)
    bulk.settle_at_flush(session, lambda s: _take_numbers(s, tenant, invoices, now))


def _take_numbers(
    session: Session, tenant: Tenant, invoices: Sequence[Invoice], now: datetime
) -> dict[str, str]:
    """Number `invoices`, in order; the numbers by invoice id."""
    clock_ids = [invoice.test_clock_id for invoice in invoices]
    numbers = {}
    for invoice, taken in zip(
        invoices, _assign_numbers(session, tenant, "invoice", clock_ids, now), strict=True
    ):
        invoice.series, invoice.number = taken
        numbers[invoice.id] = taken[1]
    return numbers


def preview(session: Session, tenant_id: str, draft: InvoiceDraft, now: datetime) -> InvoiceOut:
    """The invoice the draft would become, with tax, credit and totals, writing nothing: what
    an upcoming invoice will say (no number yet, credit balance as it stands now)."""
    _, invoice, lines, _ = _build(session, tenant_id, draft, now)
    invoice.credit_applied = min(
        _credit(session, invoice) if invoice.total > 0 else 0, max(invoice.total, 0)
    )
    invoice.amount_due = max(invoice.total, 0) - invoice.credit_applied
    invoice.amount_paid = 0
    invoice.amount_remaining = invoice.amount_due
    # It does not exist yet: no id to look it up by (its lines' ids are as unreal).
    return _present(invoice, lines).model_copy(update={"id": "upcoming"})


def _build(
    session: Session,
    tenant_id: str,
    draft: InvoiceDraft,
    now: datetime,
    pending: Sequence[PendingItem] | None = None,
) -> tuple[Tenant, Invoice, list[InvoiceLine], Sequence[PendingItem]]:
    """The draft invoice and its lines, taxed and totalled, not yet added to the session;
    `pending`: the subscription's pending items when the caller knows them (None: look)."""
    if pending is None:
        pending = repository.open_pending_items(session, draft.subscription_id)
    drafts = [*draft.lines, *(_as_line(item) for item in pending)]
    if not drafts:
        raise ValueError("an invoice needs at least one line")
    tenant = tenants.get_tenant(session, tenant_id)
    customer = customers.get_customer(session, tenant_id, draft.customer_id)
    discounts = line_discounts(
        draft.discount,
        [DiscountableLine(line.amount, line.period_start) for line in drafts],
        amount_off_applies=draft.billing_reason in PERIOD_REASONS,
    )
    local_day = tenants.local_day(tenant, now)
    assessment = tax.assess(
        tax.Party(tenant.country, tenant.state, tenant.gstin, None),
        tax.Party(customer.country, customer.state, customer.gstin, customer.vat_id, customer.sez),
        draft.currency,
        [
            tax.TaxableLine(line.amount - discount, line.tax_behavior, line.sac_code)
            for line, discount in zip(drafts, discounts, strict=True)
        ],
        local_day,
        seller_lut=tenant.lut,
        seller_registrations=[(r["scheme"], r["number"]) for r in tenant.tax_registrations],
    )
    invoice = bulk.construct(
        Invoice,
        tenant_id=tenant_id,
        id=draft.invoice_id or new_id("in"),
        number=None,
        series=None,
        status="draft",
        customer_id=draft.customer_id,
        subscription_id=draft.subscription_id,
        test_clock_id=draft.test_clock_id,
        billing_reason=draft.billing_reason,
        collection_method=draft.collection_method,
        currency=draft.currency,
        period_start=draft.period_start,
        period_end=draft.period_end,
        paid_out_of_band=False,
        place_of_supply=assessment.place_of_supply,
        reverse_charge=assessment.reverse_charge,
        notes=list(assessment.notes),
        customer_snapshot=customers.present(customer).model_dump(mode="json"),
        seller_snapshot=seller_snapshot(tenant),
        created_at=now,
        updated_at=now,
    )
    lines = [
        bulk.construct(
            InvoiceLine,
            **vars(line),
            tenant_id=tenant_id,
            id=new_id("il"),
            invoice_id=invoice.id,
            position=position,
            discount_amount=discount,
            tax=line_tax.tax,
            tax_lines=[tax_line(c) for c in line_tax.components],
        )
        for position, (line, discount, line_tax) in enumerate(
            zip(drafts, discounts, assessment.lines, strict=True)
        )
    ]
    _set_totals(invoice, lines)
    invoice.inr_values = exchange_rates.invoice_inr_values(
        session,
        tenant.gstin is not None,
        invoice.currency,
        local_day,
        invoice.total - invoice.tax,
        invoice.tax_lines,
    )
    return tenant, invoice, lines, pending


def seller_snapshot(tenant: Tenant) -> dict[str, Any]:
    """What a document says about its issuer; frozen with it, because a finalized document
    never changes (DESIGN rule 6) even when the tenant moves office or renames itself. The logo
    is branding, not content, and is read from the tenant when printing."""
    return {
        "name": tenant.name,
        "country": tenant.country,
        "state": tenant.state,
        "gstin": tenant.gstin,
        "address": tenant.address,
        "email": tenant.email,
        "timezone": tenant.timezone,
        "tax_registrations": tenant.tax_registrations,
    }


def tax_line(component: tax.TaxComponent) -> dict[str, object]:
    return {
        "type": component.type,
        "rate": str(component.rate),
        "jurisdiction": component.jurisdiction,
        "taxable_amount": component.taxable_amount,
        "amount": component.amount,
    }


def _set_totals(invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    """Subtotal and discount from the lines; tax summed per type (DESIGN: rounded per line)."""
    invoice.subtotal = sum(line.amount for line in lines)
    invoice.discount = sum(line.discount_amount for line in lines)
    invoice.tax = sum(line.tax for line in lines)
    exclusive_tax = sum(line.tax for line in lines if line.tax_behavior == "exclusive")
    invoice.total = invoice.subtotal - invoice.discount + exclusive_tax
    # What a draft owes before credit; finalization applies the customer's credit balance.
    invoice.credit_applied = 0
    invoice.amount_due = invoice.amount_remaining = max(invoice.total, 0)
    invoice.amount_paid = 0
    invoice.tax_lines = tax_totals(c for line in lines for c in line.tax_lines)


def tax_totals(components: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Line taxes summed per (type, rate, jurisdiction), in the order they first appear: the
    document's tax summary, each figure already rounded on its line."""
    sums: dict[tuple[str, str, str], list[int]] = {}
    for c in components:
        pair = sums.setdefault((c["type"], c["rate"], c["jurisdiction"]), [0, 0])
        pair[0] += c["taxable_amount"]
        pair[1] += c["amount"]
    return [
        {"type": t, "rate": r, "jurisdiction": j, "taxable_amount": v, "amount": a}
        for (t, r, j), (v, a) in sums.items()
    ]


def _finalize(
    session: Session,
    tenant: Tenant,
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    now: datetime,
    may_spend_credit: bool = True,
) -> None:
    """Settle what credit can on a sealed invoice, post it, announce it and collect it; from here
    on the document never changes. `may_spend_credit` False: the caller knows the customer has
    no credit balance."""
    _apply_credit(session, invoice, now, may_spend_credit)
    invoice.amount_remaining = invoice.amount_due
    if not bulk.collecting(session):
        session.flush()
    ledger.invoice_finalized(session, invoice, lines, now)
    events.emit(session, tenant.id, "invoice.finalized", _present(invoice, lines), now)
    if invoice.amount_due == 0:
        _settle(session, invoice, now, out_of_band=False)
    else:
        collection.collector().collect(session, invoice, now)


def _seal(invoice: Invoice, now: datetime, days_until_due: int | None) -> None:
    """What finalizing sets without asking the database: dates, status (`_number` then numbers
    it, `_finalize` applies credit, which may change the amounts)."""
    invoice.status = "open"
    invoice.issued_at = now
    invoice.due_at = (
        now + timedelta(days=days_until_due or 0)
        if invoice.collection_method == "send_invoice"
        else now
    )


def assign_number(
    session: Session, tenant: Tenant, kind: str, clock_id: str | None, now: datetime
) -> tuple[str, str]:
    """The next number of the tenant's `kind` series on the local date of `now`, as (series key,
    number), inside the caller's transaction: a rollback gives the number back (no gap)."""
    return _assign_numbers(session, tenant, kind, [clock_id], now)[0]


def _assign_numbers(
    session: Session,
    tenant: Tenant,
    kind: str,
    clock_ids: Sequence[str | None],
    now: datetime,
) -> list[tuple[str, str]]:
    """`assign_number` for documents on these clocks, in order, each series asked once."""
    gst = tenant.gstin is not None
    day = tenants.local_day(tenant, now)
    next_of: dict[str | None, tuple[numbering.Series, int]] = {}
    for clock_id, count in Counter(clock_ids).items():
        series = numbering.series(kind, gst, day, clock_id)
        next_of[clock_id] = (series, repository.next_number(session, tenant.id, series.key, count))
    numbers = []
    for clock_id in clock_ids:
        series, sequence = next_of[clock_id]
        next_of[clock_id] = (series, sequence + 1)
        numbers.append((series.key, _formatted(kind, tenant, gst, series, sequence)))
    return numbers


def _formatted(
    kind: str, tenant: Tenant, gst: bool, series: numbering.Series, sequence: int
) -> str:
    prefix = numbering.prefix_of(kind, tenant.invoice_prefix)
    try:
        return numbering.invoice_number(prefix, gst, series.label, sequence)
    except numbering.NumberSeriesExhausted as exc:
        raise conflict(f"{kind}_numbers_exhausted", f"{exc}; shorten the invoice prefix.") from None


def _apply_credit(
    session: Session, invoice: Invoice, now: datetime, may_spend: bool = True
) -> None:
    """Use the customer's credit balance first; a negative total becomes new credit.

    Only spending credit needs the customer's row lock (granting cannot overdraw): the balance
    is read again under it, so two invoices finalizing at once cannot spend the same credit.
    """
    invoice.credit_applied = 0
    invoice.amount_due = max(invoice.total, 0)
    if invoice.total < 0:
        move_credit(session, invoice, -invoice.total, "net_credit", now)
    elif invoice.total > 0 and may_spend and _credit(session, invoice) > 0:
        customers.get_customer(session, invoice.tenant_id, invoice.customer_id, for_update=True)
        used = min(_credit(session, invoice), invoice.total)
        if used > 0:
            move_credit(session, invoice, -used, "applied_to_invoice", now)
            invoice.credit_applied = used
            invoice.amount_due = invoice.total - used


def _credit(session: Session, invoice: Invoice) -> int:
    return repository.credit_balance(session, invoice.customer_id, invoice.currency)


def move_credit(
    session: Session, invoice: Invoice, amount: int, reason: str, now: datetime
) -> None:
    """One movement of the customer's credit balance, caused by `invoice` (or a credit note
    of it)."""
    repository.add(
        session,
        CreditTransaction(
            tenant_id=invoice.tenant_id,
            id=new_id("cbt"),
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=amount,
            invoice_id=invoice.id,
            reason=reason,
            created_at=now,
        ),
    )


def _settle(session: Session, invoice: Invoice, now: datetime, *, out_of_band: bool) -> None:
    ledger.invoice_paid(session, invoice, now)
    invoice.amount_paid += invoice.amount_remaining
    invoice.amount_remaining = 0
    invoice.status = "paid"
    invoice.paid_at = now
    invoice.paid_out_of_band = out_of_band
    invoice.updated_at = now
    if not bulk.collecting(session):
        session.flush()
    events.emit(session, invoice.tenant_id, "invoice.paid", present(session, invoice), now)


def record_payment(session: Session, invoice: Invoice, now: datetime) -> None:
    """A gateway collected what the (locked, open) invoice still owed."""
    _settle(session, invoice, now, out_of_band=False)


def unpaid_automatic_invoices(session: Session, subscription_id: str) -> int:
    """How many of the subscription's automatically collected invoices still wait for money."""
    return repository.count_unpaid_automatic(session, subscription_id)


# --- after issue ---------------------------------------------------------------------------


def customer_now(session: Session, invoice: Invoice) -> datetime:
    return clocks.clock_for(session, invoice.tenant_id, invoice.test_clock_id).now()


def _collectible(invoice: Invoice, action: str) -> None:
    if invoice.status not in COLLECTIBLE:
        raise conflict("invalid_state", f"An invoice that is {invoice.status} cannot be {action}.")


def pay(session: Session, tenant_id: str, invoice_id: str, *, out_of_band: bool) -> Invoice:
    """Record money received outside Hisaab, or ask the collector to charge now."""
    invoice = get(session, tenant_id, invoice_id, for_update=True)
    _collectible(invoice, "paid")
    now = customer_now(session, invoice)
    if out_of_band:
        _settle(session, invoice, now, out_of_band=True)
    else:
        collection.collector().charge_now(session, invoice, now)
    return invoice


def void(session: Session, tenant_id: str, invoice_id: str) -> Invoice:
    """Cancel an invoice nothing was paid on; credit it used goes back to the customer."""
    invoice = get(session, tenant_id, invoice_id, for_update=True)
    _collectible(invoice, "voided")
    now = customer_now(session, invoice)
    ledger.invoice_voided(session, invoice, now)
    if invoice.credit_applied:
        move_credit(session, invoice, invoice.credit_applied, "invoice_voided", now)
    invoice.status = "void"
    invoice.voided_at = now
    invoice.amount_remaining = 0
    invoice.updated_at = now
    session.flush()
    events.emit(session, tenant_id, "invoice.voided", present(session, invoice), now)
    return invoice


def mark_uncollectible(session: Session, tenant_id: str, invoice_id: str) -> Invoice:
    """Write the invoice off as bad debt; it can still be paid later."""
    invoice = get(session, tenant_id, invoice_id, for_update=True)
    if invoice.status != "open":
        raise conflict(
            "invalid_state", f"An invoice that is {invoice.status} cannot be marked uncollectible."
        )
    now = customer_now(session, invoice)
    ledger.invoice_written_off(session, invoice, now)
    invoice.status = "uncollectible"
    invoice.marked_uncollectible_at = now
    invoice.updated_at = now
    session.flush()
    events.emit(session, tenant_id, "invoice.marked_uncollectible", present(session, invoice), now)
    return invoice
