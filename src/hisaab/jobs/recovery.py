"""Jobs that a dead worker held go back to the queue.

A worker killed while it runs a job (kill -9, the OOM killer, a lost machine) cannot mark the job
done or failed, so procrastinate leaves it `doing` for ever and nothing else would ever take it:
an invoice email, a webhook, a charge or a refund silently never happens. Procrastinate tells a
dead worker from a busy one by its heartbeat: each worker writes one every HEARTBEAT_SECONDS,
`get_stalled_jobs` lists the `doing` jobs of workers silent for longer than a threshold, and
`retry_job` puts them back. It does not do so by itself; the periodic `retry_stalled_jobs` task
(tasks.py) does, every minute.

A worker's death counts as a failed attempt of its job: the job goes back as its task's own
retry policy says (its delay, its number of attempts), and a job whose attempts are spent is
marked failed and logged (`stalled_jobs_failed`), as one that raised would be. So a job that
kills whichever worker runs it (one that runs it out of memory) stops after a few tries instead
of taking a worker down every few minutes for ever. The tasks without a retry policy are the
periodic ones, which their next run replaces.

A job put back runs again from its start, on top of whatever its first run committed: every job
is therefore at-least-once, and each task is written to be rerun (DESIGN: jobs can run twice).
What a rerun means, per task:

- `send_mail` / `send_mails` hold the message row's lock while talking to the SMTP server and
  send only messages not yet `sent` (`send_mails`: still `queued`). A worker that died after the
  server accepted a message but before its commit leaves it unrecorded, so the customer gets it
  twice; both copies carry the same Message-ID, which lets mail clients drop the second.
- `deliver_webhook` likewise: a receiver that answered 2xx to a try whose worker then died gets
  the event again, with the same `webhook-id` (Standard Webhooks receivers dedupe on it).
- `charge_invoice` / `refund_payment`: each try is a row committed, with its idempotency key,
  before the gateway is asked; a rerun sends the same request under the same key, which the
  gateway answers with the first outcome instead of moving money again.
- `bill_tenant`, `scheduler_tick`, `advance_test_clock`, `check_usage_thresholds` and the
  maintenance tasks claim or re-select their work in the transaction that does it (unique rows,
  row locks, `reached_time`), so a rerun does what the dead run had not committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field

import structlog
from procrastinate import App
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Job, Status
from procrastinate.retry import RetryDecision

log = structlog.get_logger("hisaab.jobs")

HEARTBEAT_SECONDS = 10.0
"""How often a worker says it is alive (procrastinate's default, stated so that the threshold
below visibly depends on it). More often only costs an UPDATE per worker per beat."""

STALLED_AFTER_SECONDS = 120.0
"""How long a worker may stay silent before its jobs are run again elsewhere.

Twelve missed heartbeats: a slow but live worker (a long pause of the process, a CPU-starved
container, a heartbeat stuck behind a slow database connection) must not have its job run a
second time beside it, while a crash costs only this delay (plus up to a minute until the next
recovery run), which no billing, mail or webhook promise notices. It is also the
`stalled_worker_timeout` with which a starting worker deletes the rows of silent ones: a job whose
worker row is gone counts as stalled at once, so a shorter timeout there would undercut this
threshold."""


def worker_options() -> WorkerOptions:
    """Every Hisaab worker's heartbeat settings (the job app's defaults, taken when it is
    built)."""
    return {
        "update_heartbeat_interval": HEARTBEAT_SECONDS,
        "stalled_worker_timeout": STALLED_AFTER_SECONDS,
    }


class WorkerDied(Exception):
    """What a job whose worker died counts as, for its task's retry policy."""


@dataclass
class Recovered:
    """The stalled jobs put back, and those whose attempts were spent (now failed)."""

    retried: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)


async def retry_stalled_jobs(app: App, stalled_after: float) -> Recovered:
    """Put back (or fail, their attempts spent) the `doing` jobs of every worker silent for
    `stalled_after` seconds, then forget those workers (a worker only prunes others when it
    starts)."""
    manager = app.job_manager
    recovered = Recovered()
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        decision = _decision(app, job)
        if decision is None:
            if await _applied(manager.finish_job(job, status=Status.FAILED, delete_job=False), job):
                recovered.failed.append(job)
        elif await _applied(manager.retry_job(job, retry_at=decision.retry_at), job):
            recovered.retried.append(job)
    await manager.prune_stalled_workers(stalled_after)
    return recovered


def _decision(app: App, job: Job) -> RetryDecision | None:
    """When the task's retry policy runs the job again after its worker died; None: never."""
    task = app.tasks.get(job.task_name)
    if task is None or task.retry_strategy is None:
        return None
    return task.retry_strategy.get_retry_decision(exception=WorkerDied(), job=job)


async def _applied(change: Awaitable[None], job: Job) -> bool:
    """Whether the job was put back or failed. Procrastinate refuses a job that finished since
    it was listed (its worker was only late with its heartbeat), and one whose queueing lock a
    waiting twin holds (the next tick's `scheduler_tick`, a `bill_tenant` of the next fan-out):
    that one stays `doing` until a later run, after the twin has started."""
    try:
        await change
    except ConnectorException as exc:
        log.warning("stalled_job_not_retried", job_id=job.id, task=job.task_name, error=str(exc))
        return False
    return True


def describe(jobs: Iterable[Job]) -> list[str]:
    """`task#id` of each job, for the log line an operator reads after a crash."""
    return [f"{job.task_name}#{job.id}" for job in jobs]
