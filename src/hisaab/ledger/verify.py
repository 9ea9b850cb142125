"""`hisaab ledger verify`: every invariant of the books, checked against the documents.

It runs as the table owner (row-level security does not apply to it), across every tenant and
book at once, with set-based SQL, and reads the documents' tables directly: an auditor compares
two independent records, so it must not ask the code that wrote one of them. Each check returns
one `Violation` per thing wrong, naming the tenant, the book and the entry, invoice or customer.

The invariants, per tenant, book (real or one test clock) and currency:

- every entry has lines, and its debits equal its credits; every line is one positive side, in
  its entry's currency, on an account of the chart, with the invoice or customer its account is
  kept by; each book's debits equal its credits;
- every issued invoice that billed anything has exactly one finalize entry, and every entry about
  an invoice is in that invoice's book and currency;
- per invoice: receivable = amount_remaining while open (0 otherwise); bad debt =
  amount_remaining while uncollectible (0 otherwise); cash = amount_paid - refunds; sales returns
  = its credit notes' net; tax payable per type = invoice tax - credit-note tax; deferred revenue
  = its pending recognition slices, revenue = its recognised ones, and together = the net billed
  (all zero once void, with no slice left pending);
- per customer and currency: customer credit = the sum of its credit transactions;
- per book, currency and tax type: tax payable = invoice tax - credit-note tax;
- every credit note has exactly one entry, in its book and currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from hisaab.ledger import chart

REAL_BOOK = "real"


@dataclass(frozen=True)
class Violation:
    check: str
    tenant_id: str
    book: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: tenant {self.tenant_id} book {self.book}: {self.detail}"


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    tenants: int = 0
    books: int = 0
    entries: int = 0
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        return (
            f"ledger verified: {self.tenants} tenants, {self.books} books, "
            f"{self.entries} entries, {self.lines} lines; "
            + ("no violations" if self.ok else f"{len(self.violations)} violations")
        )


def _in_scope(alias: str) -> str:
    return (
        f"(CAST(:tenants AS text[]) IS NULL OR {alias}.tenant_id = ANY(CAST(:tenants AS text[])))"
    )


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_INVOICE_ACCOUNTS = _quoted(sorted(chart.INVOICE_ACCOUNTS | {chart.CASH_CLEARING.code}))
_TAX_CODES = "VALUES " + ", ".join(f"('{t}', '{a.code}')" for t, a in chart.TAX_PAYABLE.items())


def _checks() -> dict[str, str]:
    """Each check's query: rows of (tenant_id, test_clock_id, detail)."""
    # Credit notes as per-invoice amounts the ledger must reflect.
    cn_sums = f"""
        SELECT n.tenant_id, n.invoice_id, sum(n.subtotal) AS net, sum(n.refunded) AS refunded
        FROM credit_notes n WHERE {_in_scope("n")} GROUP BY n.tenant_id, n.invoice_id"""
    cn_taxes = f"""
        SELECT n.tenant_id, n.invoice_id, t->>'type' AS type,
               sum((t->>'amount')::bigint) AS amount
        FROM credit_notes n, jsonb_array_elements(n.tax_lines) t
        WHERE {_in_scope("n")} GROUP BY 1, 2, 3"""
    issued = f"""
        SELECT i.* FROM invoices i WHERE i.status <> 'draft' AND {_in_scope("i")}"""
    checks = {
        "entry_empty": f"""
            SELECT e.tenant_id, e.test_clock_id, 'entry ' || e.id || ' has no lines'
            FROM journal_entries e
            WHERE {_in_scope("e")} AND NOT EXISTS (
                SELECT 1 FROM journal_lines l WHERE l.tenant_id = e.tenant_id AND l.entry_id = e.id
            )""",
        "entry_unbalanced": f"""
            SELECT e.tenant_id, e.test_clock_id,
                   format('entry %s (%s %s of %s): debits %s != credits %s',
                          e.id, e.currency, e.kind, e.source_id, sum(l.debit), sum(l.credit))
            FROM journal_entries e
            JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
            WHERE {_in_scope("e")}
            GROUP BY e.tenant_id, e.id
            HAVING sum(l.debit) <> sum(l.credit)""",
        "line_invalid": f"""
            SELECT e.tenant_id, e.test_clock_id,
                   format('entry %s line %s (%s): %s', e.id, l.line_no, l.account_code,
                       CASE
                         WHEN l.debit < 0 OR l.credit < 0 THEN 'negative amount'
                         WHEN (l.debit = 0) = (l.credit = 0) THEN 'not exactly one side'
                         WHEN l.currency <> e.currency
                           THEN 'currency ' || l.currency || ' in a ' || e.currency || ' entry'
                         WHEN a.code IS NULL THEN 'no such account'
                         WHEN l.invoice_id IS NULL THEN 'names no invoice'
                         ELSE 'names no customer'
                       END)
            FROM journal_lines l
            JOIN journal_entries e ON e.tenant_id = l.tenant_id AND e.id = l.entry_id
            LEFT JOIN ledger_accounts a
              ON a.tenant_id = l.tenant_id AND a.currency = l.currency AND a.code = l.account_code
            WHERE {_in_scope("l")} AND (
                l.debit < 0 OR l.credit < 0 OR (l.debit = 0) = (l.credit = 0)
                OR l.currency <> e.currency OR a.code IS NULL
                OR (l.account_code IN ({_quoted(sorted(chart.INVOICE_ACCOUNTS))})
                    AND l.invoice_id IS NULL)
                OR (l.account_code IN ({_quoted(sorted(chart.CUSTOMER_ACCOUNTS))})
                    AND l.customer_id IS NULL)
            )""",
        "book_unbalanced": f"""
            SELECT e.tenant_id, e.test_clock_id,
                   format('%s: total debits %s != total credits %s',
                          e.currency, sum(l.debit), sum(l.credit))
            FROM journal_entries e
            JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
            WHERE {_in_scope("e")}
            GROUP BY e.tenant_id, e.test_clock_id, e.currency
            HAVING sum(l.debit) <> sum(l.credit)""",
        "finalize_entry": f"""
            WITH issued AS ({issued})
            SELECT i.tenant_id, i.test_clock_id,
                   format('invoice %s (%s) has %s finalize entries, expected %s',
                          i.id, i.status, count(e.id), max(x.expected))
            FROM issued i
            CROSS JOIN LATERAL (
                SELECT CASE WHEN i.total - i.tax <> 0 OR EXISTS (
                    SELECT 1 FROM jsonb_array_elements(i.tax_lines) t
                    WHERE (t->>'amount')::bigint <> 0
                ) THEN 1 ELSE 0 END AS expected
            ) x
            LEFT JOIN journal_entries e
              ON e.tenant_id = i.tenant_id AND e.source_id = i.id AND e.kind = 'invoice_finalized'
            GROUP BY i.tenant_id, i.test_clock_id, i.id, i.status
            HAVING count(e.id) <> max(x.expected)""",
        "entry_source": f"""
            SELECT e.tenant_id, e.test_clock_id,
                   format('entry %s (%s) of invoice %s: %s', e.id, e.kind, e.source_id,
                       CASE
                         WHEN i.id IS NULL THEN 'no such invoice'
                         WHEN i.status = 'draft' THEN 'the invoice is a draft'
                         WHEN i.currency <> e.currency
                           THEN 'invoice in ' || i.currency || ', entry in ' || e.currency
                         ELSE 'invoice in book ' || coalesce(i.test_clock_id, '{REAL_BOOK}')
                       END)
            FROM journal_entries e
            LEFT JOIN invoices i ON i.tenant_id = e.tenant_id AND i.id = e.source_id
            WHERE {_in_scope("e")} AND e.source_type = 'invoice' AND (
                i.id IS NULL OR i.status = 'draft' OR i.currency <> e.currency
                OR i.test_clock_id IS DISTINCT FROM e.test_clock_id
            )""",
        "line_invoice": f"""
            SELECT e.tenant_id, e.test_clock_id,
                   format('entry %s line %s names invoice %s: %s', e.id, l.line_no, l.invoice_id,
                       CASE
                         WHEN i.id IS NULL THEN 'no such invoice'
                         WHEN i.currency <> e.currency
                           THEN 'invoice in ' || i.currency || ', entry in ' || e.currency
                         WHEN i.customer_id IS DISTINCT FROM l.customer_id
                           THEN 'invoice of customer ' || i.customer_id
                         ELSE 'invoice in book ' || coalesce(i.test_clock_id, '{REAL_BOOK}')
                       END)
            FROM journal_lines l
            JOIN journal_entries e ON e.tenant_id = l.tenant_id AND e.id = l.entry_id
            LEFT JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
            WHERE {_in_scope("l")} AND l.invoice_id IS NOT NULL AND (
                i.id IS NULL OR i.currency <> e.currency
                OR i.customer_id IS DISTINCT FROM l.customer_id
                OR i.test_clock_id IS DISTINCT FROM e.test_clock_id
            )""",
        "invoice_balance": f"""
            WITH issued AS ({issued}),
            cn AS ({cn_sums}),
            cn_tax AS ({cn_taxes}),
            tax_codes(type, code) AS ({_TAX_CODES}),
            slices AS (
                SELECT s.tenant_id, s.invoice_id,
                       sum(s.amount) FILTER (WHERE s.status = 'pending') AS pending,
                       sum(s.amount) FILTER (WHERE s.status = 'recognized') AS recognized
                FROM revenue_schedule s WHERE {_in_scope("s")} GROUP BY 1, 2
            ),
            tax AS (
                SELECT i.tenant_id, i.id AS invoice_id, t->>'type' AS type,
                       -sum((t->>'amount')::bigint) AS amount
                FROM issued i, jsonb_array_elements(i.tax_lines) t
                GROUP BY 1, 2, 3
                UNION ALL
                SELECT tenant_id, invoice_id, type, amount FROM cn_tax
            ),
            expected_rows(tenant_id, invoice_id, account_code, amount) AS (
                SELECT i.tenant_id, i.id, '{chart.RECEIVABLE.code}',
                       CASE WHEN i.status = 'open' THEN i.amount_remaining ELSE 0 END
                FROM issued i
                UNION ALL
                SELECT i.tenant_id, i.id, '{chart.BAD_DEBT.code}',
                       CASE WHEN i.status = 'uncollectible' THEN i.amount_remaining ELSE 0 END
                FROM issued i
                UNION ALL
                SELECT i.tenant_id, i.id, '{chart.CASH_CLEARING.code}',
                       i.amount_paid - coalesce(cn.refunded, 0)
                FROM issued i LEFT JOIN cn ON cn.tenant_id = i.tenant_id AND cn.invoice_id = i.id
                UNION ALL
                SELECT i.tenant_id, i.id, '{chart.SALES_RETURNS.code}',
                       CASE WHEN i.status = 'void' THEN 0 ELSE coalesce(cn.net, 0) END
                FROM issued i LEFT JOIN cn ON cn.tenant_id = i.tenant_id AND cn.invoice_id = i.id
                UNION ALL
                SELECT i.tenant_id, i.id, '{chart.DEFERRED_REVENUE.code}',
                       CASE WHEN i.status = 'void' THEN 0 ELSE -coalesce(s.pending, 0) END
                FROM issued i
                LEFT JOIN slices s ON s.tenant_id = i.tenant_id AND s.invoice_id = i.id
                UNION ALL
                SELECT i.tenant_id, i.id, '{chart.REVENUE.code}',
                       CASE WHEN i.status = 'void' THEN 0 ELSE -coalesce(s.recognized, 0) END
                FROM issued i
                LEFT JOIN slices s ON s.tenant_id = i.tenant_id AND s.invoice_id = i.id
                UNION ALL
                SELECT i.tenant_id, i.id, coalesce(c.code, 'tax ' || t.type),
                       CASE WHEN i.status = 'void' THEN 0 ELSE t.amount END
                FROM tax t
                JOIN issued i ON i.tenant_id = t.tenant_id AND i.id = t.invoice_id
                LEFT JOIN tax_codes c ON c.type = t.type
            ),
            expected AS (
                SELECT tenant_id, invoice_id, account_code, sum(amount) AS amount
                FROM expected_rows GROUP BY 1, 2, 3
            ),
            actual AS (
                SELECT l.tenant_id, l.invoice_id, l.account_code,
                       sum(l.debit - l.credit) AS amount
                FROM journal_lines l
                WHERE {_in_scope("l")} AND l.invoice_id IS NOT NULL
                  AND l.account_code IN ({_INVOICE_ACCOUNTS})
                GROUP BY 1, 2, 3
            )
            SELECT coalesce(x.tenant_id, a.tenant_id), i.test_clock_id,
                   format('invoice %s (%s) account %s: balance %s, expected %s',
                          coalesce(x.invoice_id, a.invoice_id), coalesce(i.status, 'unknown'),
                          coalesce(x.account_code, a.account_code),
                          coalesce(a.amount, 0), coalesce(x.amount, 0))
            FROM expected x
            FULL JOIN actual a
              ON a.tenant_id = x.tenant_id AND a.invoice_id = x.invoice_id
             AND a.account_code = x.account_code
            LEFT JOIN invoices i
              ON i.tenant_id = coalesce(x.tenant_id, a.tenant_id)
             AND i.id = coalesce(x.invoice_id, a.invoice_id)
            WHERE coalesce(x.amount, 0) <> coalesce(a.amount, 0)""",
        "net_billed": f"""
            WITH issued AS ({issued}),
            earned AS (
                SELECT l.tenant_id, l.invoice_id, sum(l.credit - l.debit) AS amount
                FROM journal_lines l
                WHERE {_in_scope("l")} AND l.invoice_id IS NOT NULL
                  AND l.account_code IN ('{chart.DEFERRED_REVENUE.code}', '{chart.REVENUE.code}')
                GROUP BY 1, 2
            ),
            scheduled AS (
                SELECT s.tenant_id, s.invoice_id, sum(s.amount) AS amount
                FROM revenue_schedule s
                WHERE {_in_scope("s")} AND s.status <> 'canceled'
                GROUP BY 1, 2
            )
            SELECT i.tenant_id, i.test_clock_id,
                   format('invoice %s (%s) billed net %s: deferred + recognised %s, scheduled %s',
                          i.id, i.status, x.net, coalesce(e.amount, 0), coalesce(s.amount, 0))
            FROM issued i
            CROSS JOIN LATERAL (
                SELECT CASE WHEN i.status = 'void' THEN 0 ELSE i.total - i.tax END AS net
            ) x
            LEFT JOIN earned e ON e.tenant_id = i.tenant_id AND e.invoice_id = i.id
            LEFT JOIN scheduled s ON s.tenant_id = i.tenant_id AND s.invoice_id = i.id
            WHERE coalesce(e.amount, 0) <> x.net
               OR (i.status <> 'void' AND coalesce(s.amount, 0) <> x.net)""",
        "void_pending": f"""
            SELECT s.tenant_id, s.test_clock_id,
                   format('void invoice %s still has %s pending recognition slices',
                          s.invoice_id, count(*))
            FROM revenue_schedule s
            JOIN invoices i ON i.tenant_id = s.tenant_id AND i.id = s.invoice_id
            WHERE {_in_scope("s")} AND i.status = 'void' AND s.status = 'pending'
            GROUP BY s.tenant_id, s.test_clock_id, s.invoice_id""",
        "customer_credit": f"""
            WITH expected AS (
                SELECT t.tenant_id, t.customer_id, t.currency, sum(t.amount) AS amount
                FROM credit_transactions t WHERE {_in_scope("t")} GROUP BY 1, 2, 3
            ),
            actual AS (
                SELECT l.tenant_id, l.customer_id, l.currency, sum(l.credit - l.debit) AS amount
                FROM journal_lines l
                WHERE {_in_scope("l")} AND l.account_code = '{chart.CUSTOMER_CREDIT.code}'
                GROUP BY 1, 2, 3
            )
            SELECT coalesce(x.tenant_id, a.tenant_id), c.test_clock_id,
                   format('customer %s %s: credit balance in the ledger %s, '
                          'credit transactions sum to %s',
                          coalesce(x.customer_id, a.customer_id),
                          coalesce(x.currency, a.currency),
                          coalesce(a.amount, 0), coalesce(x.amount, 0))
            FROM expected x
            FULL JOIN actual a
              ON a.tenant_id = x.tenant_id AND a.customer_id IS NOT DISTINCT FROM x.customer_id
             AND a.currency = x.currency
            LEFT JOIN customers c
              ON c.tenant_id = coalesce(x.tenant_id, a.tenant_id)
             AND c.id = coalesce(x.customer_id, a.customer_id)
            WHERE coalesce(x.amount, 0) <> coalesce(a.amount, 0)""",
        "tax_payable": f"""
            WITH issued AS ({issued}),
            tax_codes(type, code) AS ({_TAX_CODES}),
            expected_rows AS (
                SELECT i.tenant_id, i.test_clock_id, i.currency, t->>'type' AS type,
                       (t->>'amount')::bigint AS amount
                FROM issued i, jsonb_array_elements(i.tax_lines) t
                WHERE i.status <> 'void'
                UNION ALL
                SELECT i.tenant_id, i.test_clock_id, i.currency, n.type, -n.amount
                FROM ({cn_taxes}) n
                JOIN issued i ON i.tenant_id = n.tenant_id AND i.id = n.invoice_id
                WHERE i.status <> 'void'
            ),
            expected AS (
                SELECT r.tenant_id, r.test_clock_id, r.currency,
                       coalesce(c.code, 'tax ' || r.type) AS code, sum(r.amount) AS amount
                FROM expected_rows r LEFT JOIN tax_codes c ON c.type = r.type
                GROUP BY 1, 2, 3, 4
            ),
            actual AS (
                SELECT e.tenant_id, e.test_clock_id, e.currency, l.account_code AS code,
                       sum(l.credit - l.debit) AS amount
                FROM journal_lines l
                JOIN journal_entries e ON e.tenant_id = l.tenant_id AND e.id = l.entry_id
                WHERE {_in_scope("l")} AND l.account_code IN (SELECT code FROM tax_codes)
                GROUP BY 1, 2, 3, 4
            )
            SELECT coalesce(x.tenant_id, a.tenant_id), coalesce(x.test_clock_id, a.test_clock_id),
                   format('%s account %s: tax payable %s, invoices less credit notes %s',
                          coalesce(x.currency, a.currency), coalesce(x.code, a.code),
                          coalesce(a.amount, 0), coalesce(x.amount, 0))
            FROM expected x
            FULL JOIN actual a
              ON a.tenant_id = x.tenant_id AND a.test_clock_id IS NOT DISTINCT FROM x.test_clock_id
             AND a.currency = x.currency AND a.code = x.code
            WHERE coalesce(x.amount, 0) <> coalesce(a.amount, 0)""",
    }
    checks["credit_note_entry"] = f"""
        WITH posted AS (
            SELECT e.tenant_id, e.source_id, count(*) AS n,
                   bool_and(e.kind = 'credit_note') AS kinds,
                   array_agg(DISTINCT e.currency) AS currencies,
                   array_agg(DISTINCT coalesce(e.test_clock_id, '{REAL_BOOK}')) AS books
            FROM journal_entries e
            WHERE {_in_scope("e")} AND e.source_type = 'credit_note'
            GROUP BY 1, 2
        )
        SELECT coalesce(n.tenant_id, p.tenant_id), n.test_clock_id,
               format('credit note %s: %s entries (expected 1)%s',
                      coalesce(n.id, p.source_id), coalesce(p.n, 0),
                      CASE
                        WHEN n.id IS NULL THEN ', no such credit note'
                        WHEN p.currencies <> ARRAY[n.currency]
                          OR p.books <> ARRAY[coalesce(n.test_clock_id, '{REAL_BOOK}')]
                          THEN ', in another book or currency'
                        ELSE ''
                      END)
        FROM (SELECT * FROM credit_notes c WHERE {_in_scope("c")}) n
        FULL JOIN posted p ON p.tenant_id = n.tenant_id AND p.source_id = n.id
        WHERE n.id IS NULL OR coalesce(p.n, 0) <> 1 OR NOT p.kinds
           OR p.currencies <> ARRAY[n.currency]
           OR p.books <> ARRAY[coalesce(n.test_clock_id, '{REAL_BOOK}')]"""
    return checks


def run(connection: Connection, tenant_ids: Sequence[str] | None = None) -> Report:
    """Check the books of every tenant (or only `tenant_ids`); read-only."""
    params: dict[str, Any] = {"tenants": list(tenant_ids) if tenant_ids is not None else None}
    report = Report()
    for check, query in _checks().items():
        for tenant_id, book, detail in connection.execute(text(query), params):
            report.violations.append(Violation(check, tenant_id, book or REAL_BOOK, detail))
    counts = connection.execute(
        text(
            f"""
            SELECT count(DISTINCT e.tenant_id),
                   count(DISTINCT (e.tenant_id, coalesce(e.test_clock_id, ''), e.currency)),
                   count(*),
                   (SELECT count(*) FROM journal_lines l WHERE {_in_scope("l")})
            FROM journal_entries e WHERE {_in_scope("e")}"""
        ),
        params,
    ).one()
    report.tenants, report.books, report.entries, report.lines = (int(n) for n in counts)
    return report
