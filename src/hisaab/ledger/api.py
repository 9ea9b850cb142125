"""HTTP routes of the ledger (read-only: only documents post entries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep
from hisaab.core.schemas import QueryText
from hisaab.ledger import service
from hisaab.ledger.schemas import EntryOut, TrialBalanceOut

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["ledger"])


@router.get("/ledger/trial_balance")
def get_trial_balance(
    session: SessionDep,
    tenant_id: TenantIdDep,
    currency: Annotated[
        str, Query(min_length=3, max_length=3, description="ISO 4217, either case.")
    ],
    test_clock_id: Annotated[
        QueryText,
        Query(max_length=64, description="A test clock's simulated books instead of the real."),
    ] = None,
) -> TrialBalanceOut:
    """Debits, credits and balance of every account in one currency and one book."""
    return service.trial_balance(session, tenant_id, currency, test_clock_id)


@router.get("/ledger/entries")
def list_entries(
    session: SessionDep,
    page: PageRequestDep,
    source_id: Annotated[
        QueryText,
        Query(max_length=64, description="Only the entries this document (`in_…`, `cn_…`) posted."),
    ] = None,
) -> Page[EntryOut]:
    """Journal entries with their lines, newest first."""
    found = service.list_entries(session, page, source_id)
    return Page(
        data=service.present_entries(session, found.items),
        has_more=found.has_more,
        next_cursor=found.next_cursor,
    )
