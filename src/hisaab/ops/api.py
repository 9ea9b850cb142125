"""Liveness, readiness and metrics: for load balancers and Prometheus, no auth."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from hisaab import migrations
from hisaab.db import Database

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (says nothing about the database)."""
    return {"status": "ok"}


def _readiness(database: Database) -> tuple[bool, dict[str, str | None]]:
    head = migrations.head_revision()
    try:
        with database.engine.connect() as connection:
            current = migrations.current_revision(connection)
    except SQLAlchemyError as exc:
        return False, {"status": "unavailable", "database": type(exc).__name__}
    ready = current == head
    return ready, {
        "status": "ready" if ready else "migrations_pending",
        "database": "ok",
        "schema_revision": current,
        "expected_revision": head,
    }


@router.get(
    "/readyz", responses={503: {"description": "Database unreachable or migrations pending"}}
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and its schema is at the code's migration head."""
    ready, body = await run_in_threadpool(_readiness, request.app.state.runtime.db)
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
