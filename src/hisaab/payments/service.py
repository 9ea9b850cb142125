"""Use cases of getting paid: schedule a try when an invoice is finalized, run due tries against
the gateway exactly once, chase a failed invoice on the tenant's schedule, and give up with the
tenant's final action.

How "exactly once" holds. A try is a `payment_attempts` row committed before any gateway call,
with an idempotency key derived from (invoice, attempt number) and the amount and payment method
fixed. Running tries takes the invoice's row lock, then runs every due try of that invoice in
attempt order: a second worker waits on the lock and then finds nothing due; a worker that dies
after the gateway answered but before its commit leaves the try `scheduled`, and whoever runs it
next sends the very same request with the very same key, which the gateway answers with the
first outcome instead of charging again. A try is only called off (`canceled`) before it could
have been sent (its time is still ahead), so no charge the gateway made can be forgotten.

Charges a request asks for (a subscription's first invoice, `POST /v1/invoices/{id}/pay`, a new
payment method during dunning) are remembered on the session; the router commits the request's
work (`core.http.checkpoint`) and then runs them with `collect_requested`, so the invoice and its
try exist in the database before the gateway is asked. Everything else is run by the payment
job (system clock) or the scheduler's due work (test clocks, and a safety net).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import procrastinate
import structlog
from sqlalchemy.orm import Session

from hisaab.core import bulk, tally
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import conflict
from hisaab.core.http import checkpoint, in_request
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.customers import service as customers
from hisaab.customers.models import Customer
from hisaab.invoicing import collection
from hisaab.invoicing import service as invoicing
from hisaab.invoicing.models import Invoice
from hisaab.jobs import queue
from hisaab.payments import dunning, links, notifications, refunds, repository
from hisaab.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerRequest,
    GatewayConfigurationError,
    PaymentGateway,
    PaymentLinkRequest,
)
from hisaab.payments.gateways.registry import gateway_for
from hisaab.payments.models import GatewayCustomer, InvoiceDunning, PaymentAttempt
from hisaab.payments.schemas import PaymentOut, RefundOut
from hisaab.subscriptions import service as subscriptions
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events
from hisaab.webhooks.service import EventRecord

log = structlog.get_logger("hisaab.payments")
QUEUE = "payments"
CHARGE_TASK = "charge_invoice"
# Tries the request itself runs also get a job this much later, in case the request dies.
REQUEST_SAFETY_NET = timedelta(minutes=1)
# On the system clock the job runs a try on time; the scheduler's sweep takes what a job left.
SWEEP_GRACE = timedelta(minutes=2)
# The sweep's outcomes, counted for the billing run's batch record as `payment_<status>`.
TALLY_PREFIX = "payment_"
DUE_BATCH = 200
# Requests one billing-run batch has in flight at a real gateway at once: enough to hide the
# network's latency, few enough to stay inside the gateways' rate limits (Stripe: 100/s live).
GATEWAY_CONCURRENCY = 8
# A job that failed (database down, a bug) is tried again; the sweep catches anything beyond.
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)
_REQUESTED = "hisaab.payments.requested"
_DEFERRED = "hisaab.payments.deferred"
_CREATED = "hisaab.payments.created"


# --- reading -------------------------------------------------------------------------------


def get(session: Session, tenant_id: str, payment_id: str) -> PaymentAttempt:
    return found(
        "payment", "pay", payment_id, lambda: repository.get_attempt(session, tenant_id, payment_id)
    )


def list_payments(
    session: Session, page: PageRequest, invoice_id: str | None, customer_id: str | None
) -> Slice[PaymentAttempt]:
    return repository.list_attempts(session, page, invoice_id, customer_id)


def present(session: Session, attempt: PaymentAttempt) -> PaymentOut:
    refunds = repository.refunds_of(session, [attempt.id])
    return PaymentOut.model_validate(
        {
            **{
                name: getattr(attempt, name)
                for name in PaymentOut.model_fields
                if name not in {"object", "refunds", "refunded_amount"}
            },
            "refunded_amount": sum(r.amount for r in refunds if r.status != "failed"),
            "refunds": [RefundOut.model_validate(r, from_attributes=True) for r in refunds],
        }
    )


# --- scheduling ----------------------------------------------------------------------------


def _idempotency_key(attempt: PaymentAttempt) -> str:
    """The same (invoice, attempt) always sends the gateway the same key; the tenant is in it so
    that keys of different tenants sharing a gateway account never collide."""
    digest = hashlib.sha256(
        f"{attempt.tenant_id}\x1f{attempt.invoice_id}\x1f{attempt.attempt_number}".encode()
    ).hexdigest()
    return f"hisaab-{digest[:40]}"


def _new_attempt(
    session: Session,
    invoice: Invoice,
    *,
    reason: str,
    at: datetime,
    off_session: bool,
    status: str,
    payment_method_id: str | None,
    gateway: str | None,
    attempt_number: int | None = None,
) -> PaymentAttempt:
    """The next try of the invoice, for all it still owes, with its idempotency key
    (`attempt_number`: when the caller knows it, e.g. 1 for a just finalized invoice)."""
    attempt = bulk.construct(
        PaymentAttempt,
        tenant_id=invoice.tenant_id,
        id=new_id("pay"),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
        attempt_number=attempt_number or repository.next_attempt_number(session, invoice.id),
        reason=reason,
        amount=invoice.amount_remaining,
        currency=invoice.currency,
        payment_method_id=payment_method_id,
        gateway=gateway,
        off_session=off_session,
        idempotency_key="",
        status=status,
        retryable=False,
        scheduled_at=at,
        created_at=at,
    )
    attempt.idempotency_key = _idempotency_key(attempt)
    repository.add(session, attempt)
    bulk.remember(session, ("no_refunds", attempt.id), True)
    bulk.forget(session, ("future_attempts", invoice.id))  # read again, with this one
    return attempt


def _schedule(
    session: Session,
    invoice: Invoice,
    *,
    reason: str,
    at: datetime,
    off_session: bool,
    requested: bool = False,
    attempt_number: int | None = None,
) -> PaymentAttempt:
    """A new try for what the invoice still owes, with the customer's default method now."""
    method = customers.default_payment_method(session, invoice.tenant_id, invoice.customer_id)
    if requested and method is not None:
        bulk.keep(session, [method])  # charged after the request's commit: not read again
    attempt = _new_attempt(
        session,
        invoice,
        reason=reason,
        at=at,
        off_session=off_session,
        status="scheduled",
        payment_method_id=method.id if method else None,
        gateway=method.gateway if method else None,
        attempt_number=attempt_number,
    )
    session.info.setdefault(_CREATED, set()).add(attempt.id)
    # Only a request runs its tries itself; elsewhere (a job, a clock advance) the job does.
    requested = requested and in_request(session)
    if requested:
        session.info.setdefault(_REQUESTED, []).append((invoice.tenant_id, invoice.id))
    deferred: list[str] | None = session.info.get(_DEFERRED)
    if deferred is not None and at <= SYSTEM_CLOCK.now() and not requested:
        deferred.append(invoice.id)  # the billing run charges it right after its commit
    elif invoice.test_clock_id is None:
        # Test-clock tries run when their clock reaches them (the scheduler's due work).
        queue.enqueue(
            session,
            CHARGE_TASK,
            {"tenant_id": invoice.tenant_id, "invoice_id": invoice.id},
            queue=QUEUE,
            scheduled_at=at + REQUEST_SAFETY_NET if requested else at,
        )
    return attempt


class GatewayCollector:
    """What invoicing hands a finalized invoice to (`invoicing.collection`)."""

    def collect(self, session: Session, invoice: Invoice, now: datetime) -> None:
        if invoice.collection_method != "charge_automatically":
            return
        # A subscription's first invoice: it has just started (and may still be unwritten).
        first = invoice.billing_reason == "subscription_create"
        if (
            invoice.subscription_id
            and not first
            and subscriptions.status_of(session, invoice.tenant_id, invoice.subscription_id)
            == "unpaid"
        ):
            return  # an unpaid subscription's invoices wait for the customer, not the card
        customer = customers.get_customer(session, invoice.tenant_id, invoice.customer_id)
        if first or not dunning.indian_mandate(invoice.currency, customer.country):
            # The customer is present when subscribing; renewals are charged as they fall due.
            _schedule(
                session,
                invoice,
                reason="initial",
                at=now,
                off_session=not first,
                requested=first,
                attempt_number=1,
            )
            return
        attempt = _schedule(
            session,
            invoice,
            reason="initial",
            at=now + dunning.PRE_DEBIT_NOTICE,
            off_session=True,
            attempt_number=1,
        )
        if dunning.needs_customer_authentication(
            invoice.amount_remaining, invoice.currency, customer.country
        ):
            # Above the RBI limit: no automatic debit at all; the customer pays through a link.
            attempt.scheduled_at = now
            attempt.off_session = False
            _needs_customer(session, invoice, attempt, "mandate_limit_exceeded", now)
            return
        _emit_payment(session, "payment.scheduled", attempt, now)

    def charge_now(self, session: Session, invoice: Invoice, now: datetime) -> None:
        """`POST /v1/invoices/{id}/pay`: a try now with the default method (none: 409)."""
        if (
            customers.default_payment_method(session, invoice.tenant_id, invoice.customer_id)
            is None
        ):
            raise conflict(
                "no_payment_method",
                f"{invoice.customer_id} has no default payment method to charge; attach one, or "
                'record a payment received outside Hisaab with {"paid_out_of_band": true}.',
            )
        for attempt in repository.future_attempts(session, invoice.id, now):
            _call_off(attempt, now)
        _schedule(session, invoice, reason="manual", at=now, off_session=True, requested=True)

    def refund(
        self, session: Session, invoice: Invoice, credit_note_id: str, amount: int, now: datetime
    ) -> None:
        refunds.start(session, invoice, credit_note_id, amount, now)


def install() -> None:
    collection.install(GatewayCollector())
    events.subscribe("customer.updated", _payment_method_changed)
    # The customer hears of failures, needed approvals and Indian pre-debit notices (only in a
    # process that has a mailer; see payments.notifications).
    notifications.install()


# --- the customer paying themselves (the pay page, payments.checkout) -----------------------


def pay_on_session(session: Session, invoice: Invoice, now: datetime) -> PaymentAttempt:
    """The customer, present on the pay page, pays the (locked, open) invoice now with their
    default method; the caller runs it with `collect_requested`.

    On session, so neither the RBI limit nor a pre-debit notice applies: the customer authorises
    this very payment. Tries the new default's `customer.updated` handler has just made for this
    invoice (in this transaction, so never sent) and tries still ahead are called off: this one
    is the invoice's only charge now.
    """
    created = session.info.get(_CREATED, set())
    for attempt in repository.attempts_of(session, invoice.id):
        if attempt.status == "scheduled" and (attempt.id in created or attempt.scheduled_at > now):
            _call_off(attempt, now)
    return _schedule(session, invoice, reason="manual", at=now, off_session=False, requested=True)


def start_checkout(
    session: Session, invoice: Invoice, gateway_name: str, return_url: str
) -> PaymentAttempt:
    """The customer pays the (locked, open) invoice on the gateway's own checkout page.

    The try is committed (`checkpoint`) before the gateway is asked, so its id and idempotency
    key, which the gateway keeps in the checkout's metadata, are never reused for another
    request. It waits as `requires_action` with the checkout's URL; the gateway's webhook
    names the checkout (`gateway_charge_id`), and `apply_gateway_outcome` settles it. A
    gateway that refuses leaves the try `canceled` with its message, and changes nothing else.
    """
    now = invoicing.customer_now(session, invoice)
    attempt = _new_attempt(
        session,
        invoice,
        reason="manual",
        at=now,
        off_session=False,
        status="requires_action",
        payment_method_id=None,
        gateway=gateway_name,
    )
    checkpoint(session)
    customer = customers.get_customer(session, invoice.tenant_id, invoice.customer_id)
    try:
        gateway = gateway_for(session, invoice.tenant_id, gateway_name)
        result = gateway.create_payment_link(
            PaymentLinkRequest(
                amount=attempt.amount,
                currency=attempt.currency,
                customer_ref=_gateway_customer(session, gateway, customer),
                idempotency_key=attempt.idempotency_key,
                description=f"Invoice {invoice.number}",
                return_url=return_url,
                metadata=_gateway_metadata(invoice, attempt),
                customer_name=customer.name,
                customer_email=customer.email or None,
            )
        )
    except GatewayConfigurationError as exc:
        attempt.status = "canceled"
        attempt.completed_at = now
        attempt.failure_code = "gateway_not_configured"
        attempt.failure_message = str(exc)
        return attempt
    attempt.gateway_charge_id = result.gateway_ref
    attempt.action_url = result.url
    return attempt


def collect_requested(session: Session, *, last: bool = False) -> None:
    """Run the tries this request scheduled to run at once, after committing what made them
    (for routers: the objects they hold show the outcome afterwards).

    They run as a bulk batch, as `charge_many` runs the billing run's: the rows nothing reads
    back in the request (journal entries and lines, events and their deliveries, jobs) go
    together at the end instead of a statement each. Routers call this outside any batch;
    `last`: the router writes nothing after it, so the batch also takes the rows the request
    left for its end, its audit entry (`bulk.batch`)."""
    requested = session.info.pop(_REQUESTED, [])
    if not requested:
        return
    checkpoint(session)
    session.info.pop(_CREATED, None)
    with bulk.batch(session, last=last):
        _run_requested(session, requested)


def _run_requested(session: Session, requested: list[tuple[str, str]]) -> None:
    for tenant_id, invoice_id in dict.fromkeys(requested):
        # Locked first, then its clock asked (the invoice as read under the lock is the one
        # that counts; the request holds no reference to the one it issued).
        invoice = invoicing.get(session, tenant_id, invoice_id, for_update=True)
        _run_due(session, invoice, invoicing.customer_now(session, invoice))


# --- running -------------------------------------------------------------------------------


def run_invoice(session: Session, tenant_id: str, invoice_id: str, now: datetime) -> int:
    """Run the invoice's due tries, oldest first, holding its lock (see the module docstring)."""
    invoice = invoicing.get(session, tenant_id, invoice_id, for_update=True)
    return _run_due(session, invoice, now)


def _run_due(session: Session, invoice: Invoice, now: datetime) -> int:
    """The due tries of the locked invoice, and those they schedule for at once. Only a try
    made meanwhile can be due after a round (the lock keeps others from adding any): without
    one, the invoice is not asked again."""
    created: set[str] = session.info.setdefault(_CREATED, set())
    done = 0
    while due := repository.due_attempts(session, invoice.id, now):
        before = len(created)
        for attempt in due:
            _run(session, invoice, attempt, now)
            done += 1
        if len(created) == before:
            break
    return done


def _run(session: Session, invoice: Invoice, attempt: PaymentAttempt, now: datetime) -> None:
    if _still_owed(session, invoice, attempt, now):
        _apply(session, invoice, attempt, _send(_prepare(session, invoice, attempt)), now)


def _still_owed(session: Session, invoice: Invoice, attempt: PaymentAttempt, now: datetime) -> bool:
    """Whether the try asks for what the invoice owes; if not, it is called off (and a try for
    the new amount scheduled)."""
    if invoice.status != "open" or invoice.amount_remaining <= 0:
        _call_off(attempt, now)
        return False
    if attempt.amount > invoice.amount_remaining:
        # A credit note lowered what is owed; ask for the new amount under a new key.
        _call_off(attempt, now)
        _schedule(
            session, invoice, reason="amount_changed", at=now, off_session=attempt.off_session
        )
        return False
    return True


def charges_after_commit(session: Session) -> list[str]:
    """From now on in this transaction, tries due at once get no job: their invoices' ids are
    collected in the list returned, for the caller to charge with `charge_many` after its
    commit (the scheduler's sweep takes any that a crash left behind)."""
    invoice_ids: list[str] = session.info.setdefault(_DEFERRED, [])
    return invoice_ids


def charge_many(
    session: Session, tenant_id: str, invoice_ids: Sequence[str], now: datetime
) -> Counter[str]:
    """The due tries of many invoices in one transaction (a billing-run batch, just committed):
    what `run_invoice` does for each, with what they read fetched once for all and what they
    write sent in bulk; gateway calls go out a bounded number at a time per gateway. Returns
    the tries' outcomes by status."""
    invoices = invoicing.lock_many(session, invoice_ids)
    due = repository.due_attempts_of(session, [invoice.id for invoice in invoices], now)
    outcomes: Counter[str] = Counter()
    single = [invoice for invoice in invoices if len(due.get(invoice.id, ())) == 1]
    for invoice in invoices:
        if len(due.get(invoice.id, ())) > 1:  # a try to re-send before a newer one: in order
            with session.begin_nested():
                run_invoice(session, tenant_id, invoice.id, now)
    if not single:
        return outcomes
    attempts = [due[invoice.id][0] for invoice in single]
    with bulk.batch(session):
        customers.load_many(session, (invoice.customer_id for invoice in single))
        subscriptions.load_many(
            session, (i.subscription_id for i in single if i.subscription_id is not None)
        )
        invoicing.read_ahead(session, single)
        repository.read_ahead(session, [invoice.id for invoice in single], attempts, now)
        owed = [
            (invoice, attempt)
            for invoice, attempt in zip(single, attempts, strict=True)
            if _still_owed(session, invoice, attempt, now)
        ]
        prepared = [_prepare(session, invoice, attempt) for invoice, attempt in owed]
        for (invoice, attempt), result in zip(owed, _send_all(prepared), strict=True):
            _apply(session, invoice, attempt, result, now)
            outcomes[attempt.status] += 1
    return outcomes


def apply_gateway_outcome(
    session: Session, gateway: str, charge_id: str, result: ChargeResult
) -> PaymentAttempt | None:
    """What a gateway reported later (an inbound webhook) about one of our charges.

    Only a try still waiting for its outcome (`processing`, or `requires_action` the customer
    then completed) changes: a late `failed` after `succeeded` (events out of order, or
    delivered twice) changes nothing. A `succeeded` after `failed` of the same charge does
    apply: the money was taken (Razorpay captures a late authorisation of a failed payment; a
    Stripe PaymentIntent can be confirmed again), and taken money is never ignored; the
    invoice is paid by it if it still owes that much, else it shows on the payment alone.
    None if no try of ours made that charge.
    """
    found_attempt = repository.attempt_by_charge(session, gateway, charge_id)
    if found_attempt is None:
        return None
    invoice = invoicing.get(
        session, found_attempt.tenant_id, found_attempt.invoice_id, for_update=True
    )
    attempt = repository.get_attempt(
        session, found_attempt.tenant_id, found_attempt.id, for_update=True
    )
    assert attempt is not None
    waiting = attempt.status in {"processing", "requires_action"}
    late_success = attempt.status == "failed" and result.status is ChargeStatus.SUCCEEDED
    if late_success or (waiting and result.status in {ChargeStatus.SUCCEEDED, ChargeStatus.FAILED}):
        if late_success:
            attempt.failure_code = None
        _apply(session, invoice, attempt, result, invoicing.customer_now(session, invoice))
    return attempt


def _call_off(attempt: PaymentAttempt, now: datetime) -> None:
    attempt.status = "canceled"
    attempt.completed_at = now


@dataclass(frozen=True)
class _Refusal:
    """An outcome decided before reaching a gateway."""

    code: str
    message: str


@dataclass(frozen=True)
class _Charge:
    """A charge ready to send: everything read, nothing asked of the gateway yet."""

    gateway: PaymentGateway
    request: ChargeRequest
    attach: bool


def _prepare(session: Session, invoice: Invoice, attempt: PaymentAttempt) -> _Charge | ChargeResult:
    """The request for the try, or the outcome when it cannot be sent at all."""
    method = (
        customers.payment_method(
            session, invoice.tenant_id, invoice.customer_id, attempt.payment_method_id
        )
        if attempt.payment_method_id
        else None
    )
    if method is None or method.detached_at is not None or attempt.gateway is None:
        return _refused(
            _Refusal("no_payment_method", "The customer has no payment method to charge.")
        )
    customer = customers.get_customer(session, invoice.tenant_id, invoice.customer_id)
    try:
        gateway = bulk.memo(
            session,
            ("gateway", invoice.tenant_id, attempt.gateway),
            lambda: gateway_for(session, invoice.tenant_id, str(attempt.gateway)),
        )
        customer_ref = _gateway_customer(session, gateway, customer)
    except GatewayConfigurationError as exc:
        return _refused(_Refusal("gateway_not_configured", str(exc)))
    request = ChargeRequest(
        amount=attempt.amount,
        currency=attempt.currency,
        customer_ref=customer_ref,
        payment_method_ref=method.token,
        idempotency_key=attempt.idempotency_key,
        off_session=attempt.off_session,
        description=f"Invoice {invoice.number}",
        metadata=_gateway_metadata(invoice, attempt),
        customer_email=customer.email,
        customer_phone=customer.phone,
    )
    return _Charge(gateway, request, attach=gateway.name != "sandbox")


def _gateway_metadata(invoice: Invoice, attempt: PaymentAttempt) -> dict[str, str]:
    """What the gateway keeps with a charge or link, so its dashboard and webhooks lead back."""
    return {
        "hisaab_tenant_id": invoice.tenant_id,
        "hisaab_invoice_id": invoice.id,
        "hisaab_payment_id": attempt.id,
        "invoice_number": invoice.number or "",
    }


def _send(prepared: _Charge | ChargeResult) -> ChargeResult:
    if isinstance(prepared, ChargeResult):
        return prepared
    if prepared.attach:
        prepared.gateway.attach_payment_method(
            prepared.request.customer_ref, prepared.request.payment_method_ref
        )
    return prepared.gateway.charge(prepared.request)


def _send_all(prepared: Sequence[_Charge | ChargeResult]) -> list[ChargeResult]:
    """Each charge's outcome. The sandbox answers in-process; each real gateway gets at most
    GATEWAY_CONCURRENCY requests at once, from a pool of its own. A gateway that could not be
    reached fails the whole transaction once every request has returned: every try stays
    `scheduled` and is re-sent later with its own key, which the gateway answers with the
    first outcome, never twice."""
    remote = {
        index for index, item in enumerate(prepared) if isinstance(item, _Charge) and item.attach
    }
    results = {index: _send(item) for index, item in enumerate(prepared) if index not in remote}
    by_gateway: dict[str, list[int]] = {}
    for index in sorted(remote):
        item = prepared[index]
        assert isinstance(item, _Charge)
        by_gateway.setdefault(item.gateway.name, []).append(index)
    for indexes in by_gateway.values():
        with ThreadPoolExecutor(max_workers=GATEWAY_CONCURRENCY) as pool:
            futures = {index: pool.submit(_send, prepared[index]) for index in indexes}
        for index, future in futures.items():
            results[index] = future.result()
    return [results[index] for index in range(len(prepared))]


def _refused(refusal: _Refusal) -> ChargeResult:
    return ChargeResult(
        ChargeStatus.FAILED,
        None,
        None,
        retryable=False,
        message=refusal.message,
        raw_code=refusal.code,
    )


def _gateway_customer(session: Session, gateway: PaymentGateway, customer: Customer) -> str:
    """The customer's id at the gateway, created on first use and kept."""
    known = repository.gateway_customer(session, customer.id, gateway.name)
    if known is not None:
        return known
    ref = gateway.create_customer(
        CustomerRequest(
            reference=customer.id,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            idempotency_key=f"hisaab-customer-{customer.tenant_id}-{customer.id}",
        )
    )
    repository.add(
        session,
        GatewayCustomer(
            tenant_id=customer.tenant_id,
            customer_id=customer.id,
            gateway=gateway.name,
            gateway_customer_id=ref,
            created_at=SYSTEM_CLOCK.now(),
        ),
    )
    bulk.remember(session, ("gateway_customer", customer.id, gateway.name), ref)
    return ref


def _apply(
    session: Session, invoice: Invoice, attempt: PaymentAttempt, result: ChargeResult, now: datetime
) -> None:
    attempt.gateway_charge_id = result.gateway_charge_id
    attempt.failure_message = result.message
    attempt.retryable = result.retryable
    if result.status is ChargeStatus.PROCESSING:
        attempt.status = "processing"  # the gateway's webhook will tell
        return
    attempt.completed_at = now
    if result.status is ChargeStatus.SUCCEEDED:
        attempt.status = "succeeded"
        _succeeded(session, invoice, attempt, now)
    elif result.status is ChargeStatus.REQUIRES_ACTION:
        attempt.failure_code = result.failure_code.value if result.failure_code else None
        _needs_customer(
            session, invoice, attempt, attempt.failure_code or "authentication_required", now
        )
    else:
        attempt.status = "failed"
        attempt.failure_code = result.failure_code.value if result.failure_code else result.raw_code
        _failed(session, invoice, attempt, now)


def _succeeded(session: Session, invoice: Invoice, attempt: PaymentAttempt, now: datetime) -> None:
    if invoice.status in invoicing.COLLECTIBLE and invoice.amount_remaining == attempt.amount:
        invoicing.record_payment(session, invoice, now)
    else:
        # Only a late outcome can get here (the invoice was settled another way while the
        # gateway was still processing): the money is real and shows on the payment; the
        # invoice is not paid twice. Support refunds it at the gateway.
        log.warning("payment_for_settled_invoice", payment_id=attempt.id, invoice_id=invoice.id)
    record = repository.dunning(session, invoice.id, for_update=True)
    if record is not None and record.state in repository.ACTIVE_DUNNING:
        record.state = "recovered"
        record.updated_at = now
    for later in repository.future_attempts(session, invoice.id, now):
        _call_off(later, now)
    _emit_payment(session, "payment.succeeded", attempt, now)
    if (
        invoice.subscription_id is not None
        and subscriptions.status_of(session, invoice.tenant_id, invoice.subscription_id)
        in subscriptions.UNPAID_STATUSES
    ):
        subscriptions.payment_recovered(
            session,
            invoice.tenant_id,
            invoice.subscription_id,
            invoicing.unpaid_automatic_invoices(session, invoice.subscription_id),
            now,
        )


def _dunning_record(session: Session, invoice: Invoice, now: datetime) -> InvoiceDunning:
    record = repository.dunning(session, invoice.id, for_update=True)
    if record is None:
        policy = tenants.get_tenant(session, invoice.tenant_id).dunning
        record = InvoiceDunning(
            tenant_id=invoice.tenant_id,
            invoice_id=invoice.id,
            customer_id=invoice.customer_id,
            subscription_id=invoice.subscription_id,
            test_clock_id=invoice.test_clock_id,
            state="retrying",
            first_failed_at=now,
            final_action_at=dunning.final_action_at(now, policy["retry_days"]),
            final_action=None,
            updated_at=now,
        )
        repository.add(session, record)
        bulk.remember(session, ("dunning", invoice.id), record)
    return record


def _failed(session: Session, invoice: Invoice, attempt: PaymentAttempt, now: datetime) -> None:
    record = _dunning_record(session, invoice, now)
    if record.state in repository.ACTIVE_DUNNING:
        retry_days = tenants.get_tenant(session, invoice.tenant_id).dunning["retry_days"]
        retry_at = (
            dunning.next_retry_at(record.first_failed_at, retry_days, now)
            if attempt.retryable
            else None
        )
        # A hard decline is not retried on the same method: the customer has to act.
        record.state = "retrying" if attempt.retryable else "action_required"
        record.updated_at = now
        if retry_at is not None and not repository.future_attempts(session, invoice.id, now):
            _schedule(session, invoice, reason="retry", at=retry_at, off_session=True)
    if record.state == "action_required" or not attempt.retryable:
        attempt.action_url = links.payment_link(session, invoice, attempt)
    _emit_payment(session, "payment.failed", attempt, now)
    events.emit(
        session,
        invoice.tenant_id,
        "invoice.payment_failed",
        invoicing.present(session, invoice),
        now,
    )
    _subscription_unpaid(session, invoice, now)


def _needs_customer(
    session: Session, invoice: Invoice, attempt: PaymentAttempt, code: str, now: datetime
) -> None:
    """The payment cannot go through without the customer: send them a link, chase as usual."""
    attempt.status = "requires_action"
    attempt.failure_code = code
    attempt.completed_at = now
    attempt.action_url = links.payment_link(session, invoice, attempt)
    record = _dunning_record(session, invoice, now)
    if record.state == "retrying":
        record.state = "action_required"
        record.updated_at = now
    _emit_payment(session, "payment.requires_action", attempt, now)
    events.emit(
        session,
        invoice.tenant_id,
        "invoice.payment_action_required",
        invoicing.present(session, invoice),
        now,
    )
    _subscription_unpaid(session, invoice, now)


def _subscription_unpaid(session: Session, invoice: Invoice, now: datetime) -> None:
    if invoice.subscription_id is not None:
        subscriptions.payment_failed(
            session,
            invoice.tenant_id,
            invoice.subscription_id,
            invoice.billing_reason == "subscription_create",
            now,
        )


def _emit_payment(
    session: Session, event_type: str, attempt: PaymentAttempt, now: datetime
) -> None:
    if not bulk.collecting(session):
        session.flush()
    events.emit(session, attempt.tenant_id, event_type, present(session, attempt), now)


# --- dunning -------------------------------------------------------------------------------


def _give_up(session: Session, tenant_id: str, invoice_id: str, now: datetime) -> None:
    """The schedule is spent and the invoice still unpaid: the tenant's final action."""
    invoice = invoicing.get(session, tenant_id, invoice_id, for_update=True)
    record = repository.dunning(session, invoice_id, for_update=True)
    if record is None or record.state not in repository.ACTIVE_DUNNING:
        return
    if invoice.status != "open":
        record.state = "stopped"
        record.updated_at = now
        return
    action = tenants.get_tenant(session, tenant_id).dunning["final_action"]
    record.state = "exhausted"
    record.final_action = action
    record.updated_at = now
    if invoice.subscription_id is not None:
        subscriptions.dunning_exhausted(session, tenant_id, invoice.subscription_id, action, now)


def _payment_method_changed(session: Session, event: EventRecord) -> None:
    """A new default payment method retries, at once, every invoice being chased."""
    customer = event.data["object"]
    method_id = customer.get("default_payment_method_id")
    if method_id is None:
        return
    for record in repository.dunning_of_customer(session, customer["id"]):
        invoice = invoicing.get(session, event.tenant_id, record.invoice_id, for_update=True)
        if invoice.status != "open":
            continue
        now = invoicing.customer_now(session, invoice)
        tried = repository.attempts_of(session, invoice.id)
        if tried and tried[-1].payment_method_id == method_id:
            continue
        for attempt in repository.future_attempts(session, invoice.id, now):
            _call_off(attempt, now)
        record.state = "retrying"
        record.updated_at = now
        _schedule(
            session,
            invoice,
            reason="payment_method_updated",
            at=now,
            off_session=True,
            requested=True,
        )


class PaymentDueWork:
    """Tries and final actions whose time has come, for the scheduler and test clocks."""

    name = "payments"

    def next_due(self, session: Session, clock_id: str | None, until: datetime) -> datetime | None:
        return repository.earliest_due(session, clock_id, until)

    def run_due(self, session: Session, clock_id: str | None, now: datetime) -> int:
        # On the system clock a job runs each try on time; the sweep only takes leftovers.
        cutoff = now if clock_id is not None else now - SWEEP_GRACE
        # Tries made in this very transaction run after it commits, never before (module doc).
        created = session.info.get(_CREATED, set())
        done = 0
        due = repository.invoices_with_due_attempts(session, clock_id, cutoff, created, DUE_BATCH)
        if due:
            outcomes = charge_many(session, due[0][0], [invoice for _, invoice in due], now)
            for status, count in outcomes.items():
                tally.add(session, f"{TALLY_PREFIX}{status}", count)
            done += len(due)
        for tenant_id, invoice_id in repository.dunning_due(session, clock_id, now, DUE_BATCH):
            with session.begin_nested():
                _give_up(session, tenant_id, invoice_id, now)
            done += 1
        return done


DUE_WORK = PaymentDueWork()


def run_job(session: Session, tenant_id: str, invoice_id: str) -> int:
    """The payment job: the invoice's due tries on the system clock."""
    return run_invoice(session, tenant_id, invoice_id, SYSTEM_CLOCK.now())
