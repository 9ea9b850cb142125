"""The jobs Hisaab runs. Each opens its own transactions through `runtime.database()`; a job that
acts for a tenant binds that tenant's scope (`Database.transaction(tenant_id)`), the one job-side
counterpart of the request boundary."""

from __future__ import annotations

from datetime import timedelta

import structlog

from hisaab.billing import service as billing
from hisaab.clocks import service as clocks
from hisaab.core import idempotency
from hisaab.core.tenancy import OPERATOR_SCOPE
from hisaab.entitlements import service as entitlements
from hisaab.jobs import recovery, runtime, scheduler
from hisaab.jobs.queue import app
from hisaab.ledger import service as ledger
from hisaab.mail import service as mail
from hisaab.payments import refunds
from hisaab.payments import service as payments
from hisaab.subscriptions import service as subscriptions
from hisaab.usage import service as usage
from hisaab.webhooks import delivery as webhooks

log = structlog.get_logger("hisaab.jobs")
# API.md promises at least 24 h; twice that covers clients that retry the next day.
IDEMPOTENCY_TTL = timedelta(hours=48)

scheduler.register(subscriptions.DUE_WORK)
scheduler.register(payments.DUE_WORK)
scheduler.register(ledger.DUE_WORK)


@app.task(name=clocks.ADVANCE_TASK, queue="clocks", retry=5)
def advance_test_clock(tenant_id: str, clock_id: str) -> None:
    clocks.run_advance(runtime.database(), tenant_id, clock_id)


@app.task(name=payments.CHARGE_TASK, queue=payments.QUEUE, retry=payments.RETRY)
def charge_invoice(tenant_id: str, invoice_id: str) -> None:
    with runtime.database().transaction(tenant_id) as session:
        payments.run_job(session, tenant_id, invoice_id)


# Retried while the gateway's answer is unknown; the refund's row lock and idempotency key make
# every run after the first send nothing new (payments/refunds.py).
@app.task(name=refunds.REFUND_TASK, queue=refunds.QUEUE, retry=refunds.RETRY)
def refund_payment(tenant_id: str, refund_id: str) -> None:
    refunds.run_job(runtime.database(), tenant_id, refund_id)


@app.task(name=usage.THRESHOLD_TASK, queue=usage.THRESHOLD_QUEUE, retry=3)
def check_usage_thresholds(tenant_id: str, customer_ids: list[str]) -> None:
    with runtime.database().transaction(tenant_id) as session:
        entitlements.check_thresholds(session, tenant_id, customer_ids)


@app.task(name=mail.SEND_TASK, queue=mail.QUEUE, retry=mail.RETRY)
def send_mail(tenant_id: str, message_id: str) -> None:
    mail.deliver(runtime.database(), tenant_id, message_id)


# A failed message goes on in a `send_mail` job of its own (mail.deliver_many): these retries
# are for a crash, and a rerun sends only what is still queued. A worker killed after the SMTP
# server took a message but before its commit makes the rerun send it again (recovery.py).
@app.task(name=mail.SEND_MANY_TASK, queue=mail.QUEUE, retry=mail.RETRY)
def send_mails(tenant_id: str, message_ids: list[str]) -> None:
    mail.deliver_many(runtime.database(), tenant_id, message_ids)


# No queue-level retries: a failed try schedules the next one itself (webhooks/schedule.py); a
# crash before that committed is retried once, and the attempt-count check stops a double send.
@app.task(name=webhooks.TASK, queue=webhooks.QUEUE, retry=1)
def deliver_webhook(tenant_id: str, delivery_id: str, attempt_count: int, manual: bool) -> None:
    webhooks.deliver(runtime.database(), tenant_id, delivery_id, attempt_count, manual)


@app.periodic(cron="* * * * *", periodic_id="scheduler_tick")
@app.task(name="scheduler_tick", queue="scheduler", queueing_lock="scheduler_tick")
def scheduler_tick(timestamp: int) -> None:
    """Hand every tenant's due work on the system clock to the billing jobs."""
    with runtime.database().transaction(OPERATOR_SCOPE) as session:
        added = billing.fan_out(session)
    log.info("scheduler_tick", jobs=added, deferred_at=timestamp)


# Retried: a batch that failed rolled back whole, and the next run claims its rows again.
@app.task(name=billing.TASK, queue=billing.QUEUE, retry=3)
def bill_tenant(tenant_id: str, shard: int) -> None:
    done = billing.run_tenant(runtime.database(), tenant_id, shard)
    log.info("bill_tenant", tenant_id=tenant_id, shard=shard, done=done)


@app.periodic(cron="17 * * * *", periodic_id="purge_idempotency_keys")
@app.task(name="purge_idempotency_keys", queue="maintenance")
def purge_idempotency_keys(timestamp: int) -> None:
    with runtime.database().transaction(None) as session:
        purged = idempotency.purge_expired(session, IDEMPOTENCY_TTL)
    log.info("idempotency_keys_purged", count=purged, deferred_at=timestamp)


# Daily, though partitions are made three months ahead: a missed day or two changes nothing, and
# months that test clocks put into the DEFAULT partition get theirs within a day.
@app.periodic(cron="43 3 * * *", periodic_id="maintain_usage_partitions")
@app.task(name="maintain_usage_partitions", queue="maintenance")
def maintain_usage_partitions(timestamp: int) -> None:
    with runtime.database().transaction(None) as session:
        created = usage.maintain_partitions(session)
    log.info("usage_partitions_maintained", created=created, deferred_at=timestamp)


# Every minute, on a queue every default worker serves; the queueing lock keeps one run waiting.
@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(name="retry_stalled_jobs", queue="maintenance", queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """A job whose worker died stays `doing` for ever unless this puts it back (recovery.py)."""
    recovered = await recovery.retry_stalled_jobs(app, recovery.STALLED_AFTER_SECONDS)
    if recovered.retried:
        jobs = recovery.describe(recovered.retried)
        log.warning("stalled_jobs_retried", jobs=jobs, deferred_at=timestamp)
    if recovered.failed:
        # Its attempts spent: it killed its worker each time, or kept meeting dying workers.
        log.error("stalled_jobs_failed", jobs=recovery.describe(recovered.failed))
