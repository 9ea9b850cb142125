"""What "billed exactly once" means, checked straight in the database (as the owner role, which
row-level security does not restrict), for the subscriptions a test seeded due at one instant.

Each check returns a list of human-readable problems (empty: fine), so a failing test names every
subscription, invoice or series that is wrong, not only the first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from hisaab.ledger import verify

_SEQUENCE = re.compile(r"[-/](\d+)$")


@dataclass
class Outcome:
    """What the renewals of one seeded cohort came to."""

    subscriptions: int = 0
    invoices: int = 0
    paid: int = 0
    # Rupee renewals of Indian customers: charged 24 h after the invoice (RBI pre-debit notice).
    pre_debit_scheduled: int = 0
    problems: list[str] = field(default_factory=list)


def renewals(
    conn: Connection, tenant_ids: Sequence[str], due_at: datetime, now: datetime
) -> Outcome:
    """Every subscription of `tenant_ids` was due at `due_at`: each has exactly one
    `subscription_cycle` invoice for the period starting then, finalized and whole; its period
    moved on exactly once; each invoice has at most one succeeded try, is paid if and only if it
    has one (for the amount owed), and an unpaid one is a rupee renewal of an Indian customer
    whose single try waits for the pre-debit notice to run out (scheduled after `now`)."""
    out = Outcome()
    params = {"tenants": list(tenant_ids), "due": due_at, "now": now}
    subs = conn.execute(
        text(
            """
            SELECT s.id, s.current_period_start, s.current_period_end, s.next_action_at,
                   s.latest_invoice_id, s.status
            FROM subscriptions s WHERE s.tenant_id = ANY(:tenants)
            """
        ),
        params,
    ).all()
    out.subscriptions = len(subs)
    invoices = conn.execute(
        text(
            """
            SELECT i.id, i.subscription_id, i.period_start, i.period_end, i.status, i.number,
                   i.series, i.subtotal, i.amount_due, i.amount_paid, i.amount_remaining,
                   i.currency, c.country,
                   (SELECT count(*) FROM invoice_lines l
                    WHERE (l.tenant_id, l.invoice_id) = (i.tenant_id, i.id)) AS lines,
                   (SELECT coalesce(sum(l.amount), 0) FROM invoice_lines l
                    WHERE (l.tenant_id, l.invoice_id) = (i.tenant_id, i.id)) AS lines_amount
            FROM invoices i
            JOIN customers c ON (c.tenant_id, c.id) = (i.tenant_id, i.customer_id)
            WHERE i.tenant_id = ANY(:tenants) AND i.billing_reason = 'subscription_cycle'
            """
        ),
        params,
    ).all()
    out.invoices = len(invoices)
    attempts: dict[str, list[tuple[str, int, datetime]]] = defaultdict(list)
    for invoice_id, status, amount, scheduled_at in conn.execute(
        text(
            "SELECT invoice_id, status, amount, scheduled_at FROM payment_attempts "
            "WHERE tenant_id = ANY(:tenants)"
        ),
        params,
    ):
        attempts[invoice_id].append((status, amount, scheduled_at))

    per_period = Counter((i.subscription_id, i.period_start) for i in invoices)
    for (sub_id, start), n in per_period.items():
        if n != 1:
            out.problems.append(f"{sub_id}: {n} renewal invoices for the period from {start}")
    stray = [i.id for i in invoices if i.period_start != due_at]
    if stray:
        out.problems.append(f"renewal invoices for other periods: {stray[:10]}")
    by_sub = {i.subscription_id: i for i in invoices if i.period_start == due_at}
    for sub in subs:
        out.problems.extend(_subscription(sub, by_sub.get(sub.id), due_at))
    for invoice in invoices:
        out.problems.extend(_invoice(invoice, attempts.get(invoice.id, []), now, out))
    return out


def _subscription(sub: Row[Any], invoice: Row[Any] | None, due_at: datetime) -> list[str]:
    """Renewed once: its one invoice is its latest, its period the one after `due_at`."""
    if invoice is None:
        return [f"{sub.id}: no renewal invoice for the period from {due_at}"]
    problems = []
    if sub.current_period_start != due_at or sub.current_period_end <= due_at:
        problems.append(
            f"{sub.id}: period [{sub.current_period_start}, {sub.current_period_end}) "
            f"is not the one period after {due_at}"
        )
    if sub.next_action_at is not None and sub.next_action_at <= due_at:
        problems.append(f"{sub.id}: still due at {sub.next_action_at}")
    if sub.latest_invoice_id != invoice.id:
        problems.append(f"{sub.id}: latest invoice {sub.latest_invoice_id}, not {invoice.id}")
    return problems


def _invoice(
    invoice: Row[Any], tries: list[tuple[str, int, datetime]], now: datetime, out: Outcome
) -> list[str]:
    """Finalized and whole; paid by exactly one succeeded try, or waiting for its one try."""
    where = f"invoice {invoice.id} ({invoice.subscription_id})"
    problems = []
    if invoice.status not in {"open", "paid"} or invoice.number is None:
        problems.append(f"{where}: not finalized ({invoice.status}, {invoice.number})")
    if invoice.lines == 0 or invoice.lines_amount != invoice.subtotal:
        problems.append(
            f"{where}: {invoice.lines} lines of {invoice.lines_amount}, subtotal {invoice.subtotal}"
        )
    succeeded = [t for t in tries if t[0] == "succeeded"]
    if len(succeeded) > 1:
        problems.append(f"{where}: {len(succeeded)} succeeded payments")
    if invoice.status == "paid":
        out.paid += 1
        if len(succeeded) != 1 or succeeded[0][1] != invoice.amount_paid:
            problems.append(f"{where}: paid, but its tries are {tries}")
        if invoice.amount_remaining != 0 or invoice.amount_paid != invoice.amount_due:
            problems.append(
                f"{where}: paid with {invoice.amount_paid} of {invoice.amount_due}, "
                f"{invoice.amount_remaining} remaining"
            )
        return problems
    if succeeded:
        return [*problems, f"{where}: {invoice.status}, yet a try succeeded: {tries}"]
    indian_rupees = invoice.currency == "INR" and invoice.country == "IN"
    waiting = [t for t in tries if t[0] == "scheduled" and t[2] > now]
    if indian_rupees and len(tries) == 1 and len(waiting) == 1:
        out.pre_debit_scheduled += 1
    else:
        problems.append(
            f"{where}: {invoice.status} {invoice.currency} for a customer in "
            f"{invoice.country}, tries {tries}"
        )
    return problems


def numbering(conn: Connection, tenant_ids: Sequence[str]) -> list[str]:
    """Every invoice series of `tenant_ids` is 1..last_number, each number once: no gap (a
    number taken by a batch that rolled back, or skipped), no duplicate."""
    problems = []
    last = {
        (t, s): n
        for t, s, n in conn.execute(
            text(
                "SELECT tenant_id, series, last_number FROM document_sequences "
                "WHERE tenant_id = ANY(:tenants) AND series LIKE 'invoice:%'"
            ),
            {"tenants": list(tenant_ids)},
        )
    }
    used: dict[tuple[str, str], list[int]] = defaultdict(list)
    for tenant_id, series, number in conn.execute(
        text(
            "SELECT tenant_id, series, number FROM invoices "
            "WHERE tenant_id = ANY(:tenants) AND number IS NOT NULL"
        ),
        {"tenants": list(tenant_ids)},
    ):
        match = _SEQUENCE.search(number)
        if match is None:
            problems.append(f"{tenant_id}: unparseable invoice number {number!r}")
            continue
        used[(tenant_id, series)].append(int(match.group(1)))
    for key in sorted(set(last) | set(used)):
        numbers = sorted(used.get(key, []))
        expected = list(range(1, last.get(key, 0) + 1))
        if numbers != expected:
            duplicates = sorted(n for n, c in Counter(numbers).items() if c > 1)
            missing = sorted(set(expected) - set(numbers))
            problems.append(
                f"series {key}: {len(numbers)} numbers, last handed out {last.get(key)}; "
                f"duplicates {duplicates[:10]}, gaps {missing[:10]}"
            )
    return problems


def events(conn: Connection, tenant_ids: Sequence[str]) -> list[str]:
    """Each renewal invoice was announced once: one `invoice.created` and one
    `invoice.finalized`; one `invoice.paid` if paid, none otherwise."""
    problems = []
    rows = conn.execute(
        text(
            """
            SELECT i.id, i.status,
                   count(*) FILTER (WHERE e.type = 'invoice.created'),
                   count(*) FILTER (WHERE e.type = 'invoice.finalized'),
                   count(*) FILTER (WHERE e.type = 'invoice.paid')
            FROM invoices i
            LEFT JOIN events e ON (e.tenant_id, e.object_id) = (i.tenant_id, i.id)
            WHERE i.tenant_id = ANY(:tenants) AND i.billing_reason = 'subscription_cycle'
            GROUP BY i.id, i.status
            """
        ),
        {"tenants": list(tenant_ids)},
    ).all()
    for invoice_id, status, created, finalized, paid in rows:
        if (created, finalized, paid) != (1, 1, 1 if status == "paid" else 0):
            problems.append(
                f"{invoice_id} ({status}): {created} created, {finalized} finalized, "
                f"{paid} paid events"
            )
    return problems


def numbers_told(conn: Connection, tenant_ids: Sequence[str]) -> list[str]:
    """What the events and letters about an invoice say is its number (a batch numbers its
    invoices at its end and puts the numbers into what it collected: `bulk.stand_in`); no
    stand-in is left anywhere."""
    params = {"tenants": list(tenant_ids)}
    numbers = dict(
        conn.execute(
            text("SELECT id, number FROM invoices WHERE tenant_id = ANY(:tenants)"), params
        ).all()
    )
    problems = []
    for event_id, invoice_id, kind, number in conn.execute(
        text(
            "SELECT id, object_id, type, data->'object'->>'number' FROM events "
            "WHERE tenant_id = ANY(:tenants) AND type IN ('invoice.finalized', 'invoice.paid')"
        ),
        params,
    ):
        if number != numbers.get(invoice_id):
            problems.append(
                f"{kind} {event_id}: number {number}, {invoice_id} is {numbers.get(invoice_id)}"
            )
    for message_id, invoice_id, body in conn.execute(
        text(
            "SELECT id, document_id, text_body FROM mail_messages "
            "WHERE tenant_id = ANY(:tenants) AND kind = 'pre_debit_notice'"
        ),
        params,
    ):
        if str(numbers.get(invoice_id)) not in body:
            problems.append(
                f"pre-debit notice {message_id} does not name {numbers.get(invoice_id)}"
            )
    left = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM events WHERE tenant_id = ANY(:tenants) "
            "AND data::text LIKE '%{{hisaab:%'), (SELECT count(*) FROM mail_messages "
            "WHERE tenant_id = ANY(:tenants) AND concat(subject, text_body, html_body) "
            "LIKE '%{{hisaab:%')"
        ),
        params,
    ).one()
    if any(left):
        problems.append(f"stand-ins left in {left[0]} events and {left[1]} emails")
    return problems


def ledger(conn: Connection, tenant_ids: Sequence[str]) -> list[str]:
    """`hisaab ledger verify` for the tenants: balanced entries, one finalize entry per invoice,
    receivables and cash matching the documents."""
    report = verify.run(conn, tenant_ids)
    problems = [str(v) for v in report.violations]
    if report.entries == 0:
        problems.append("no journal entries at all")
    return problems
