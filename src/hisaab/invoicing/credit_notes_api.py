"""HTTP routes of credit notes and of the exchange rates GST invoices record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from hisaab.core.http import AUTH, NowDep, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep
from hisaab.core.schemas import QueryText
from hisaab.invoicing import credit_notes, exchange_rates
from hisaab.invoicing.api import PdfResponse
from hisaab.invoicing.rendering import service as rendering
from hisaab.invoicing.schemas import (
    CreditNoteCreate,
    CreditNoteOut,
    ExchangeRateIn,
    ExchangeRateList,
    ExchangeRateOut,
)

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH)
CreditNotePath = Path(max_length=64, description="A credit note id `cn_…`.")
CurrencyPath = Path(max_length=8, description="ISO 4217 code of the foreign currency.")


@router.post("/credit_notes", status_code=status.HTTP_201_CREATED, tags=["credit notes"])
def create_credit_note(
    body: CreditNoteCreate, session: SessionDep, tenant_id: TenantIdDep
) -> CreditNoteOut:
    """Take value and tax back from an open or paid invoice, in the credit-note series."""
    return credit_notes.present(session, credit_notes.create(session, tenant_id, body))


@router.get("/credit_notes", tags=["credit notes"])
def list_credit_notes(
    session: SessionDep,
    page: PageRequestDep,
    invoice_id: Annotated[QueryText, Query(max_length=64)] = None,
    customer_id: Annotated[QueryText, Query(max_length=64)] = None,
) -> Page[CreditNoteOut]:
    found = credit_notes.list_credit_notes(session, page, invoice_id, customer_id)
    return Page(
        data=credit_notes.present_many(session, found.items),
        has_more=found.has_more,
        next_cursor=found.next_cursor,
    )


@router.get("/credit_notes/{credit_note_id}", tags=["credit notes"])
def get_credit_note(
    session: SessionDep, tenant_id: TenantIdDep, credit_note_id: str = CreditNotePath
) -> CreditNoteOut:
    return credit_notes.present(session, credit_notes.get(session, tenant_id, credit_note_id))


@router.get(
    "/credit_notes/{credit_note_id}/pdf",
    tags=["credit notes"],
    response_class=PdfResponse,
    responses=PdfResponse.openapi("credit note"),
)
def get_credit_note_pdf(
    session: SessionDep, tenant_id: TenantIdDep, credit_note_id: str = CreditNotePath
) -> PdfResponse:
    return PdfResponse.of(rendering.credit_note_pdf(session, tenant_id, credit_note_id))


@router.get("/credit_notes/{credit_note_id}/einvoice", tags=["credit notes"])
def get_credit_note_einvoice(
    session: SessionDep, tenant_id: TenantIdDep, credit_note_id: str = CreditNotePath
) -> dict[str, Any]:
    """India e-invoice (INV-01, `Typ: CRN`) of a B2B credit note; 409 otherwise."""
    return rendering.credit_note_einvoice(session, tenant_id, credit_note_id)


@router.put("/exchange_rates/{currency}", tags=["exchange rates"])
def put_exchange_rate(
    body: ExchangeRateIn,
    session: SessionDep,
    tenant_id: TenantIdDep,
    now: NowDep,
    currency: str = CurrencyPath,
) -> ExchangeRateOut:
    """The INR rate of a currency from a day on; GST invoices in it record the rate in force."""
    rate = exchange_rates.set_rate(session, tenant_id, currency, body.rate_to_inr, body.date, now)
    return ExchangeRateOut.model_validate(exchange_rates.present(rate))


@router.get("/exchange_rates", tags=["exchange rates"])
def list_exchange_rates(
    session: SessionDep,
    currency: Annotated[QueryText, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> ExchangeRateList:
    """Rates by currency, newest first."""
    rates = exchange_rates.list_rates(session, currency, limit)
    return ExchangeRateList(
        data=[ExchangeRateOut.model_validate(exchange_rates.present(r)) for r in rates]
    )
