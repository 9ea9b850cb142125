"""Use cases of subscriptions: create, change, cancel, pause, resume, invoice now, and the timed
actions (start, trial reminder, trial end, period end) that time alone triggers.

Every use case first catches the subscription up with its own clock (`_catch_up`), so a request
that arrives a moment after a renewal was due acts on the period the customer is really in, even
if the scheduler has not run yet. Periods come from `periods` (anchored in the tenant's
timezone), amounts from `proration`; this module only decides which rule applies when.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session

from hisaab.catalog import service as catalog
from hisaab.catalog.terms import CouponTerms, PlanTerms
from hisaab.clocks import service as clocks
from hisaab.core import bulk, tally
from hisaab.core.errors import conflict, invalid
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.customers import service as customers
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.discounts import Discount
from hisaab.subscriptions import lifecycle, metering, periods, proration, repository
from hisaab.subscriptions.lifecycle import Action
from hisaab.subscriptions.models import Subscription
from hisaab.subscriptions.schemas import (
    DEFAULT_DAYS_UNTIL_DUE,
    ScheduledChangeOut,
    SubscriptionCancel,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionOut,
)
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events

if TYPE_CHECKING:
    from hisaab.invoicing.models import Invoice
    from hisaab.invoicing.schemas import InvoiceOut

# How many timed actions one subscription may need to catch up in one go (about 80 years of
# daily periods); more means something is wrong, not that the customer is very late.
MAX_CATCH_UP = 30_000
log = structlog.get_logger("hisaab.subscriptions")
DUE_BATCH = 500
_DRAFTS = "hisaab.subscriptions.drafts"


# --- reading -------------------------------------------------------------------------------


def get(
    session: Session, tenant_id: str, subscription_id: str, *, for_update: bool = False
) -> Subscription:
    return found(
        "subscription",
        "sub",
        subscription_id,
        lambda: repository.get(session, tenant_id, subscription_id, for_update=for_update),
    )


def list_subscriptions(
    session: Session, page: PageRequest, customer_id: str | None, status: str | None
) -> Slice[Subscription]:
    return repository.list_subscriptions(session, page, customer_id, status)


def present(subscription: Subscription) -> SubscriptionOut:
    columns = {
        name: getattr(subscription, name)
        for name in SubscriptionOut.model_fields.keys() - {"object", "metadata", "scheduled_change"}
    }
    change = subscription.scheduled_change
    return SubscriptionOut(
        **columns,
        metadata=subscription.metadata_,
        scheduled_change=(
            ScheduledChangeOut.model_validate(
                {**change, "effective_at": _change_effective_at(subscription)}
            )
            if change
            else None
        ),
    )


def _change_effective_at(subscription: Subscription) -> datetime | None:
    if subscription.status == "trialing":
        return subscription.trial_end
    if subscription.status == "not_started":
        return subscription.start_at
    return subscription.current_period_end


# --- helpers -------------------------------------------------------------------------------


def _now(session: Session, subscription: Subscription) -> datetime:
    return clocks.clock_for(session, subscription.tenant_id, subscription.test_clock_id).now()


def _zone(session: Session, tenant_id: str) -> ZoneInfo:
    return ZoneInfo(tenants.get_tenant(session, tenant_id).timezone)


def _terms(session: Session, subscription: Subscription) -> PlanTerms:
    return catalog.plan_terms(
        session, subscription.tenant_id, subscription.plan_id, subscription.plan_version
    )


def _emit(session: Session, subscription: Subscription, event_type: str, now: datetime) -> None:
    subscription.updated_at = now
    if not bulk.collecting(session):
        session.flush()
    events.emit(session, subscription.tenant_id, event_type, present(subscription), now)


def _schedule(subscription: Subscription) -> None:
    action = lifecycle.next_action(_timeline(subscription))
    subscription.next_action_at = action.at if action else None


def _timeline(subscription: Subscription) -> lifecycle.Timeline:
    return lifecycle.Timeline(
        status=subscription.status,
        start_at=subscription.start_at,
        trial_end=subscription.trial_end,
        trial_will_end_at=subscription.trial_will_end_at,
        current_period_end=subscription.current_period_end,
    )


def _set_status(subscription: Subscription, target: str) -> None:
    lifecycle.check_transition(subscription.status, target)
    subscription.status = target


def _discount(session: Session, subscription: Subscription) -> Discount | None:
    if subscription.coupon_id is None:
        return None
    coupon = catalog.coupon_terms(session, subscription.tenant_id, subscription.coupon_id)
    return Discount(coupon.percent_off, coupon.amount_off, subscription.discount_end)


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _plan_line(
    subscription: Subscription,
    terms: PlanTerms,
    start: datetime,
    end: datetime,
    seats: tuple[int, int] | None = None,
) -> invoicing.LineDraft:
    """The plan's charge for [start, end); `seats` (quantity, unit amount) instead of the
    subscription's own, for a period after a scheduled change."""
    quantity, unit_amount = seats or (subscription.quantity, subscription.unit_amount)
    name = terms.name if quantity == 1 else f"{quantity} × {terms.name}"  # noqa: RUF001
    return invoicing.LineDraft(
        kind="subscription",
        description=name,
        quantity=quantity,
        unit_amount=unit_amount,
        amount=unit_amount * quantity,
        period_start=start,
        period_end=end,
        plan_id=terms.plan_id,
        plan_version=terms.version,
        sac_code=terms.sac_code,
        tax_behavior=terms.tax_behavior,
    )


def _issue(
    session: Session,
    subscription: Subscription,
    reason: str,
    lines: tuple[invoicing.LineDraft, ...],
    period: tuple[datetime, datetime] | None,
    now: datetime,
) -> Invoice | None:
    """Issue the invoice now, or, in the billing run's batch (`_catch_up_many`), leave its
    draft for `invoicing.issue_many` (None: the invoice exists once the batch is issued)."""
    draft = replace(_draft(session, subscription, reason, lines, period), invoice_id=new_id("in"))
    subscription.latest_invoice_id = draft.invoice_id
    collected: list[invoicing.InvoiceDraft] | None = session.info.get(_DRAFTS)
    if collected is not None:
        collected.append(draft)
        return None
    # The subscription's new state is complete before the invoice is written: a subscription
    # not yet in the database (being created) is then inserted once, as it is, and owes no
    # pending items (they point at its row).
    _schedule(subscription)
    pending = () if repository.unwritten(subscription) else None
    return invoicing.issue(session, subscription.tenant_id, draft, now, pending=pending)


def _draft(
    session: Session,
    subscription: Subscription,
    reason: str,
    lines: tuple[invoicing.LineDraft, ...],
    period: tuple[datetime, datetime] | None,
) -> invoicing.InvoiceDraft:
    return invoicing.InvoiceDraft(
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        test_clock_id=subscription.test_clock_id,
        billing_reason=reason,
        collection_method=subscription.collection_method,
        days_until_due=subscription.days_until_due,
        currency=subscription.currency,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        lines=lines,
        discount=_discount(session, subscription),
    )


def _bill_period(
    session: Session,
    subscription: Subscription,
    period: periods.Period,
    reason: str,
    now: datetime,
    arrears: tuple[invoicing.LineDraft, ...] = (),
) -> Invoice | None:
    """Make `period` current and invoice it in advance, with the usage of the one before."""
    terms = _terms(session, subscription)
    subscription.current_period_start = period.start
    subscription.current_period_end = period.end
    line = _plan_line(subscription, terms, period.start, period.end)
    return _issue(session, subscription, reason, (line, *arrears), (period.start, period.end), now)


def _arrears(
    session: Session, subscription: Subscription, terms: PlanTerms, end: datetime
) -> tuple[invoicing.LineDraft, ...]:
    """The metered usage of the current period up to `end`, priced on `terms`."""
    start = subscription.current_period_start
    if start is None or end <= start:
        return ()
    return metering.usage_lines(
        session,
        subscription.tenant_id,
        subscription.customer_id,
        subscription.currency,
        terms,
        start,
        end,
    )


def _begin_cycle(
    session: Session,
    subscription: Subscription,
    anchor: datetime,
    reason: str,
    now: datetime,
    arrears: tuple[invoicing.LineDraft, ...] = (),
) -> Invoice | None:
    """Start a fresh billing cycle anchored at `anchor` and invoice its first period."""
    terms = _terms(session, subscription)
    subscription.billing_cycle_anchor = anchor
    period = periods.period_at(
        anchor, terms.interval, terms.interval_count, anchor, _zone(session, subscription.tenant_id)
    )
    return _bill_period(session, subscription, period, reason, now, arrears)


# --- create --------------------------------------------------------------------------------


def create(session: Session, tenant_id: str, data: SubscriptionCreate) -> Subscription:
    """The subscription, started (its first invoice issued, the try to charge it scheduled) if
    it starts now. The tenant, plan, endpoints and ledger accounts it reads again and again are
    read once, and it runs as a bulk batch, as a renewal of the billing run does: the rows
    nothing reads back in the request (its journal entry and lines, revenue schedule, events,
    their deliveries, its job) are written together at the end instead of a statement each.
    Its caller, the API, runs it outside any batch."""
    with bulk.batch(session):
        return _create(session, tenant_id, data)


def _create(session: Session, tenant_id: str, data: SubscriptionCreate) -> Subscription:
    customer = customers.get_customer(session, tenant_id, data.customer_id)
    bulk.keep(session, [customer])  # the first invoice's charge needs it after the commit too
    now = clocks.clock_for(session, tenant_id, customer.test_clock_id).now()
    terms = catalog.plan_terms(session, tenant_id, data.plan_id)
    if terms.archived:
        raise invalid("plan_archived", f"Plan {terms.plan_id} is archived.", ("body", "plan_id"))
    unit_amount = terms.unit_amount(customer.currency)
    start = now
    if data.start_at is not None:
        if data.start_at < now:
            raise invalid(
                "start_in_past",
                "start_at must not be earlier than now (the customer's clock).",
                ("body", "start_at"),
            )
        start = data.start_at
    trial_days = terms.trial_days if data.trial_days is None else data.trial_days
    trial_end = start + timedelta(days=trial_days) if trial_days else None
    coupon = _redeemable(session, tenant_id, data.coupon, customer.currency, now)
    subscription = Subscription(
        tenant_id=tenant_id,
        id=new_id("sub"),
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
        plan_id=terms.plan_id,
        plan_version=terms.version,
        quantity=data.quantity,
        currency=customer.currency,
        unit_amount=unit_amount,
        status="not_started",
        collection_method=data.collection_method,
        days_until_due=(
            (data.days_until_due if data.days_until_due is not None else DEFAULT_DAYS_UNTIL_DUE)
            if data.collection_method == "send_invoice"
            else None
        ),
        start_at=start,
        trial_start=start if trial_end else None,
        trial_end=trial_end,
        trial_will_end_at=lifecycle.trial_reminder_at(start, trial_end) if trial_end else None,
        cancel_at_period_end=False,
        coupon_id=coupon.id if coupon else None,
        discount_end=(
            _discount_end(session, tenant_id, terms, coupon, trial_end or start) if coupon else None
        ),
        scheduled_change=None,
        metadata_=data.metadata,
        created_at=now,
        updated_at=now,
    )
    # Not flushed here: the row is inserted once its first state is complete (with its first
    # invoice, or by the event below), instead of inserted and then updated step by step. What
    # `_start` reads (the tenant, for its timezone) is read before it joins the session, so
    # that no query flushes it half-made.
    _zone(session, tenant_id)
    if start <= now and trial_end is None and data.collection_method == "charge_automatically":
        # And what the first invoice's charge reads: read once the invoice is made, it would
        # flush the invoice, taking its number (and the series' lock) that much earlier.
        method = customers.default_payment_method(session, tenant_id, customer.id)
        bulk.keep(session, [method] if method else [])
    repository.add(session, subscription)
    if start <= now:
        _start(session, subscription, start, now)
    _schedule(subscription)
    _emit(session, subscription, "subscription.created", now)
    return subscription


def _redeemable(
    session: Session, tenant_id: str, code: str | None, currency: str, now: datetime
) -> CouponTerms | None:
    if code is None:
        return None
    coupon = catalog.coupon_terms(session, tenant_id, code)
    loc = ("body", "coupon")
    if coupon.archived:
        raise invalid("coupon_inactive", f"Coupon {coupon.code} is archived.", loc)
    if coupon.redeem_by is not None and coupon.redeem_by < now:
        raise invalid(
            "coupon_expired",
            f"Coupon {coupon.code} could be redeemed until {coupon.redeem_by:%Y-%m-%d}.",
            loc,
        )
    if coupon.amount_off is not None and coupon.currency != currency:
        raise invalid(
            "coupon_currency_mismatch",
            f"Coupon {coupon.code} takes {coupon.currency} off; the customer pays in {currency}.",
            loc,
        )
    if coupon.max_redemptions is not None and (
        repository.count_with_coupon(session, coupon.id) >= coupon.max_redemptions
    ):
        raise invalid("coupon_exhausted", f"Coupon {coupon.code} has been fully redeemed.", loc)
    return coupon


def _discount_end(
    session: Session, tenant_id: str, terms: PlanTerms, coupon: CouponTerms, anchor: datetime
) -> datetime | None:
    """The coupon lasts `once` (the first billed period), N periods, or forever (None)."""
    if coupon.duration == "forever":
        return None
    count = 1 if coupon.duration == "once" else (coupon.duration_in_periods or 1)
    return periods.boundary(
        anchor, terms.interval, terms.interval_count, count, _zone(session, tenant_id)
    )


# --- timed actions -------------------------------------------------------------------------


def _catch_up(session: Session, subscription: Subscription, now: datetime) -> list[Invoice]:
    """Do every timed action due by `now`, in order, each at its own instant."""
    invoices: list[Invoice] = []
    for _ in range(MAX_CATCH_UP):
        action = lifecycle.next_action(_timeline(subscription))
        if action is None or action.at > now:
            return invoices
        invoice = _run(session, subscription, action, now)
        if invoice is not None:
            invoices.append(invoice)
    raise RuntimeError(f"{subscription.id} needed more than {MAX_CATCH_UP} timed actions")


def _run(
    session: Session, subscription: Subscription, action: Action, now: datetime
) -> Invoice | None:
    """Do one timed action, then announce it (after the state it describes is complete)."""
    invoice: Invoice | None = None
    event = "subscription.updated"
    if action.kind == "start":
        invoice = _start(session, subscription, action.at, now)
    elif action.kind == "trial_will_end":
        subscription.trial_will_end_at = None
        event = "subscription.trial_will_end"
    elif subscription.cancel_at_period_end:
        invoice = _end(session, subscription, action.at, now)
        event = "subscription.canceled"
    elif action.kind == "trial_end":
        invoice = _activate(session, subscription, action.at, "subscription_cycle", now)
    else:
        invoice = _renew(session, subscription, action.at, now)
    _schedule(subscription)
    _emit(session, subscription, event, now)
    return invoice


def _start(
    session: Session, subscription: Subscription, at: datetime, now: datetime
) -> Invoice | None:
    """Begin the trial, or without one bill the first period."""
    if subscription.trial_end is not None:
        _set_status(subscription, "trialing")
        return None
    return _activate(session, subscription, at, "subscription_create", now)


def _activate(
    session: Session, subscription: Subscription, anchor: datetime, reason: str, now: datetime
) -> Invoice | None:
    _apply_scheduled_change(subscription)
    _set_status(subscription, "active")
    return _begin_cycle(session, subscription, anchor, reason, now)


def _renew(
    session: Session, subscription: Subscription, at: datetime, now: datetime
) -> Invoice | None:
    """Roll over into the period that starts at `at`, taking a scheduled change with it."""
    old_terms = _terms(session, subscription)
    arrears = _arrears(session, subscription, old_terms, at)
    _apply_scheduled_change(subscription)
    terms = _terms(session, subscription)
    if (terms.interval, terms.interval_count) != (old_terms.interval, old_terms.interval_count):
        invoice = _begin_cycle(session, subscription, at, "subscription_cycle", now, arrears)
    else:
        anchor = subscription.billing_cycle_anchor
        assert anchor is not None
        period = periods.period_at(
            anchor, terms.interval, terms.interval_count, at, _zone(session, subscription.tenant_id)
        )
        invoice = _bill_period(session, subscription, period, "subscription_cycle", now, arrears)
    return invoice


def _apply_scheduled_change(subscription: Subscription) -> None:
    change = subscription.scheduled_change
    if change is None:
        return
    subscription.plan_id = change["plan_id"]
    subscription.plan_version = change["plan_version"]
    subscription.quantity = change["quantity"]
    subscription.unit_amount = change["unit_amount"]
    subscription.scheduled_change = None


def _end(
    session: Session, subscription: Subscription, at: datetime, now: datetime
) -> Invoice | None:
    """Cancel for good at `at`; charges still pending and the last period's usage go on a
    final invoice."""
    arrears = (
        _arrears(session, subscription, _terms(session, subscription), at)
        if subscription.status in lifecycle.BILLING
        else ()
    )
    _set_status(subscription, "canceled")
    subscription.ended_at = at
    subscription.canceled_at = subscription.canceled_at or at
    subscription.cancel_at_period_end = False
    subscription.scheduled_change = None
    subscription.trial_will_end_at = None
    invoice = None
    # A final invoice only when something is owed (unlike renewals, which show every meter).
    arrears = tuple(line for line in arrears if line.amount)
    if arrears or invoicing.has_pending_items(session, subscription.id):
        invoice = _issue(session, subscription, "subscription_update", arrears, None, now)
    _schedule(subscription)
    return invoice


class SubscriptionDueWork:
    """What the scheduler and test clocks run: every subscription's due timed actions."""

    name = "subscriptions"

    def next_due(self, session: Session, clock_id: str | None, until: datetime) -> datetime | None:
        return repository.earliest_action(session, clock_id, until)

    def run_due(self, session: Session, clock_id: str | None, now: datetime) -> int:
        """The batch's timed actions together, its invoices issued with `issue_many`, all in
        one savepoint. Should anything in it fail, each subscription goes again in a savepoint
        of its own: one that cannot be billed (a bug, bad data) is logged and stays due, and
        does not hold back the rest."""
        claimed = repository.claim_due(session, clock_id, now, DUE_BATCH)
        if not claimed:
            return 0
        tally.add(session, "subscriptions", len(claimed))
        earliest = min(sub.next_action_at for sub in claimed if sub.next_action_at is not None)
        tally.at_least(session, "lag_ms", int((now - earliest).total_seconds() * 1000))
        try:
            with session.begin_nested(), bulk.batch(session):
                issued = _catch_up_many(session, claimed, now)
        except Exception:
            log.exception("subscription_batch_failed", subscriptions=len(claimed))
        else:
            tally.add(session, "invoices", issued)
            return len(claimed)
        done = 0
        for subscription in claimed:
            try:
                with session.begin_nested():
                    invoices = _catch_up(session, subscription, now)
            except Exception:
                log.exception(
                    "subscription_due_work_failed",
                    tenant_id=subscription.tenant_id,
                    subscription_id=subscription.id,
                )
                continue
            tally.add(session, "invoices", len(invoices))
            done += 1
        return done


def _catch_up_many(session: Session, claimed: Sequence[Subscription], now: datetime) -> int:
    """`_catch_up` for each, collecting the invoices' drafts, then issuing them together; how
    many invoices it issued."""
    drafts: list[invoicing.InvoiceDraft] = []
    session.info[_DRAFTS] = drafts
    try:
        for subscription in claimed:
            _catch_up(session, subscription, now)
    finally:
        session.info.pop(_DRAFTS, None)
    if drafts:
        invoicing.issue_many(session, claimed[0].tenant_id, drafts, now)
    return len(drafts)


DUE_WORK = SubscriptionDueWork()


# --- looking ahead -------------------------------------------------------------------------


def billing_subscription(session: Session, tenant_id: str, customer_id: str) -> Subscription:
    """The customer's subscription that bills next (the earliest to renew or leave its trial);
    409 `no_active_subscription` if none does (404 for a customer that is not the tenant's)."""
    customers.get_customer(session, tenant_id, customer_id)
    candidates = [
        sub
        for sub in repository.of_customer(session, customer_id)
        if sub.status in {*lifecycle.BILLING, "trialing"} and sub.next_action_at is not None
    ]
    if not candidates:
        raise conflict(
            "no_active_subscription",
            f"{customer_id} has no subscription that is billed (active, trialing, past_due or "
            "unpaid).",
        )
    return min(candidates, key=lambda sub: (sub.next_action_at, sub.id))


def current_terms(session: Session, subscription: Subscription) -> PlanTerms:
    return _terms(session, subscription)


def now_of(session: Session, subscription: Subscription) -> datetime:
    """The time on the subscription's clock (a test clock's, or the system's)."""
    return _now(session, subscription)


def upcoming_invoice(session: Session, tenant_id: str, customer_id: str) -> InvoiceOut:
    """What the customer's next invoice will say if nothing changes from now: the next period
    in advance (with a scheduled change applied), the current period's usage so far, pending
    prorations; for a subscription canceling at period end, its final invoice. Nothing is
    written; 409 `nothing_to_invoice` if that invoice would be empty."""
    subscription = billing_subscription(session, tenant_id, customer_id)
    now = _now(session, subscription)
    assert subscription.next_action_at is not None
    at = max(subscription.next_action_at, now)
    terms = _terms(session, subscription)
    lines: tuple[invoicing.LineDraft, ...] = ()
    period: tuple[datetime, datetime] | None = None
    if subscription.status in lifecycle.BILLING:
        lines = _arrears(session, subscription, terms, at)
    if not subscription.cancel_at_period_end:
        next_terms = terms
        quantity = subscription.quantity
        unit_amount = subscription.unit_amount
        change = subscription.scheduled_change
        if change is not None:
            next_terms = catalog.plan_terms(
                session, tenant_id, change["plan_id"], change["plan_version"]
            )
            quantity, unit_amount = change["quantity"], change["unit_amount"]
        anchor = subscription.billing_cycle_anchor or at
        if (next_terms.interval, next_terms.interval_count) != (
            terms.interval,
            terms.interval_count,
        ):
            anchor = at
        next_period = periods.period_at(
            anchor,
            next_terms.interval,
            next_terms.interval_count,
            at,
            _zone(session, tenant_id),
        )
        period = (next_period.start, next_period.end)
        plan_line = _plan_line(subscription, next_terms, *period, seats=(quantity, unit_amount))
        lines = (plan_line, *lines)
    if not lines and not invoicing.has_pending_items(session, subscription.id):
        raise conflict("nothing_to_invoice", "The next invoice would bill nothing.")
    return invoicing.preview(
        session,
        tenant_id,
        _draft(
            session,
            subscription,
            "subscription_cycle" if period else "subscription_update",
            lines,
            period,
        ),
        at,
    )


# --- payment outcomes (called by payments, under the invoice's lock) ------------------------

# Statuses a failed payment leaves behind, that a successful one clears.
UNPAID_STATUSES = frozenset({"incomplete", "past_due", "unpaid"})


def payment_failed(
    session: Session, tenant_id: str, subscription_id: str, first_invoice: bool, now: datetime
) -> None:
    """The first invoice unpaid makes the subscription `incomplete`; a later one `past_due`."""
    subscription = get(session, tenant_id, subscription_id, for_update=True)
    if subscription.status != "active":
        return
    if first_invoice:
        _set_status(subscription, "incomplete")
        _emit(session, subscription, "subscription.updated", now)
    else:
        _set_status(subscription, "past_due")
        _emit(session, subscription, "subscription.past_due", now)


def payment_recovered(
    session: Session, tenant_id: str, subscription_id: str, still_unpaid: int, now: datetime
) -> None:
    """Paid: back to `active` once no other automatically collected invoice is left unpaid."""
    subscription = get(session, tenant_id, subscription_id, for_update=True)
    if subscription.status not in UNPAID_STATUSES or still_unpaid > 0:
        return
    _set_status(subscription, "active")
    _schedule(subscription)
    _emit(session, subscription, "subscription.updated", now)


def dunning_exhausted(
    session: Session, tenant_id: str, subscription_id: str, final_action: str, now: datetime
) -> None:
    """The last retry failed: apply the tenant's final action. A subscription whose very first
    payment never succeeded is canceled whatever the action (it never started for real)."""
    subscription = get(session, tenant_id, subscription_id, for_update=True)
    if subscription.status == "incomplete" or (
        final_action == "cancel" and subscription.status in UNPAID_STATUSES
    ):
        _end(session, subscription, now, now)
        _emit(session, subscription, "subscription.canceled", now)
    elif final_action == "unpaid" and subscription.status == "past_due":
        _set_status(subscription, "unpaid")
        _emit(session, subscription, "subscription.unpaid", now)


def load_many(session: Session, subscription_ids: Iterable[str]) -> None:
    """Read a batch's subscriptions at once, kept for the rest of the bulk batch (what
    `status_of` and `get` then find without asking)."""
    bulk.keep(session, repository.load_many(session, sorted(set(subscription_ids))))


def status_of(session: Session, tenant_id: str, subscription_id: str) -> str:
    return get(session, tenant_id, subscription_id).status


# --- requests ------------------------------------------------------------------------------


def _locked(
    session: Session, tenant_id: str, subscription_id: str
) -> tuple[Subscription, datetime]:
    """The subscription, locked and caught up with its clock, and that clock's now."""
    subscription = get(session, tenant_id, subscription_id, for_update=True)
    now = _now(session, subscription)
    _catch_up(session, subscription, now)
    return subscription, now


def change(
    session: Session, tenant_id: str, subscription_id: str, data: SubscriptionChange
) -> Subscription:
    subscription, now = _locked(session, tenant_id, subscription_id)
    if subscription.status not in lifecycle.CHANGEABLE:
        raise lifecycle.invalid_state(subscription.status, "change plan or quantity")
    old = _terms(session, subscription)
    new = old
    if data.plan_id is not None:
        new = catalog.plan_terms(session, tenant_id, data.plan_id)
        if new.archived and new.plan_id != old.plan_id:
            raise invalid("plan_archived", f"Plan {new.plan_id} is archived.", ("body", "plan_id"))
    quantity = subscription.quantity if data.quantity is None else data.quantity
    unit_amount = new.unit_amount(subscription.currency)
    if (new.plan_id, new.version, quantity) == (old.plan_id, old.version, subscription.quantity):
        raise invalid("no_change", "The subscription is already on that plan version and quantity.")
    target: dict[str, Any] = {
        "plan_id": new.plan_id,
        "plan_version": new.version,
        "quantity": quantity,
        "unit_amount": unit_amount,
    }
    if data.effective_at == "period_end":
        subscription.scheduled_change = target
    elif subscription.status in lifecycle.BILLING:
        _change_now(session, subscription, old, new, target, data.proration_behavior, now)
    else:
        # Not started or trialing: nothing has been billed, so there is nothing to prorate.
        subscription.scheduled_change = target
        _apply_scheduled_change(subscription)
    _schedule(subscription)
    _emit(session, subscription, "subscription.updated", now)
    return subscription


def _change_now(
    session: Session,
    subscription: Subscription,
    old: PlanTerms,
    new: PlanTerms,
    target: dict[str, Any],
    behavior: str,
    now: datetime,
) -> None:
    """Switch mid-period: credit the unused old time, charge the rest of the new one.

    A change of interval cannot keep the period, so the old time is credited and a new cycle
    starts now, invoiced at once (there is no "rest of the period" to charge for).
    """
    start, end = subscription.current_period_start, subscription.current_period_end
    assert start is not None
    assert end is not None
    zone = _zone(session, subscription.tenant_id)
    old_line = _plan_line(subscription, old, start, end)
    subscription.scheduled_change = target
    _apply_scheduled_change(subscription)
    new_line = _plan_line(subscription, new, start, end)
    lines = proration.change_lines(old_line.amount, new_line.amount, start, end, now)
    credit = replace(
        old_line,
        kind="proration",
        description=f"Unused time on {old_line.description} after {_local(now, zone)}",
        amount=lines.credit,
        period_start=now,
    )
    charge = replace(
        new_line,
        kind="proration",
        description=f"Remaining time on {new_line.description} after {_local(now, zone)}",
        amount=lines.charge,
        period_start=now,
    )
    same_cycle = (new.interval, new.interval_count) == (old.interval, old.interval_count)
    prorations = tuple(
        line for line in ((credit, charge) if same_cycle else (credit,)) if line.amount != 0
    )
    if behavior == "none":
        prorations = ()
    if prorations and (behavior == "create_prorations" or not same_cycle):
        invoicing.add_pending_items(
            session,
            subscription.tenant_id,
            subscription.customer_id,
            subscription.id,
            subscription.currency,
            prorations,
            now,
        )
    if not same_cycle:
        _begin_cycle(session, subscription, now, "subscription_update", now)
    elif behavior == "always_invoice" and prorations:
        _issue(session, subscription, "subscription_update", prorations, (now, end), now)


def cancel(
    session: Session, tenant_id: str, subscription_id: str, data: SubscriptionCancel
) -> Subscription:
    subscription, now = _locked(session, tenant_id, subscription_id)
    if subscription.status == "canceled":
        raise lifecycle.invalid_state("canceled", "be canceled again")
    if not data.at_period_end:
        subscription.canceled_at = now
        _end(session, subscription, now, now)
        _emit(session, subscription, "subscription.canceled", now)
        return subscription
    if subscription.status not in {*lifecycle.BILLING, "trialing"}:
        raise lifecycle.invalid_state(subscription.status, "be canceled at period end")
    subscription.cancel_at_period_end = True
    subscription.canceled_at = now
    _emit(session, subscription, "subscription.updated", now)
    return subscription


def remove_scheduled_cancellation(
    session: Session, tenant_id: str, subscription_id: str
) -> Subscription:
    """Keep the subscription after all, as long as the period has not ended yet."""
    subscription, now = _locked(session, tenant_id, subscription_id)
    if not subscription.cancel_at_period_end:
        raise conflict("no_scheduled_cancellation", "The subscription is not scheduled to cancel.")
    subscription.cancel_at_period_end = False
    subscription.canceled_at = None
    _emit(session, subscription, "subscription.updated", now)
    return subscription


def remove_scheduled_change(session: Session, tenant_id: str, subscription_id: str) -> Subscription:
    subscription, now = _locked(session, tenant_id, subscription_id)
    if subscription.scheduled_change is None:
        raise conflict("no_scheduled_change", "The subscription has no scheduled change.")
    subscription.scheduled_change = None
    _emit(session, subscription, "subscription.updated", now)
    return subscription


def pause(session: Session, tenant_id: str, subscription_id: str) -> Subscription:
    """Stop renewing. The period already billed is the customer's to keep; nothing is credited."""
    subscription, now = _locked(session, tenant_id, subscription_id)
    _set_status(subscription, "paused")
    subscription.paused_at = now
    _schedule(subscription)
    _emit(session, subscription, "subscription.paused", now)
    return subscription


def resume(session: Session, tenant_id: str, subscription_id: str) -> Subscription:
    """Back to active: inside the period already paid it simply continues; after it, a new
    cycle starts now and is invoiced at once."""
    subscription, now = _locked(session, tenant_id, subscription_id)
    if subscription.status != "paused":
        raise lifecycle.invalid_state(subscription.status, "be resumed")
    _set_status(subscription, "active")
    subscription.paused_at = None
    end = subscription.current_period_end
    if end is None or end <= now:
        _begin_cycle(session, subscription, now, "subscription_cycle", now)
    _schedule(subscription)
    _emit(session, subscription, "subscription.resumed", now)
    return subscription


def invoice_now(
    session: Session, tenant_id: str, subscription_id: str | None, customer_id: str | None
) -> list[Invoice]:
    """`POST /v1/invoices/generate`: bill whatever is due and pending, now; 409 if nothing."""
    if subscription_id is not None:
        targets = [get(session, tenant_id, subscription_id, for_update=True)]
    else:
        assert customer_id is not None
        customer = customers.get_customer(session, tenant_id, customer_id)
        targets = repository.of_customer(session, customer.id)
    invoices: list[Invoice] = []
    for subscription in targets:
        now = _now(session, subscription)
        invoices += _catch_up(session, subscription, now)
        if invoicing.has_pending_items(session, subscription.id):
            invoice = _issue(session, subscription, "manual", (), None, now)
            assert invoice is not None  # issued at once: no billing-run batch here
            invoices.append(invoice)
            session.flush()
    if not invoices:
        raise conflict("nothing_to_invoice", "Nothing is due or pending to invoice.")
    return invoices
