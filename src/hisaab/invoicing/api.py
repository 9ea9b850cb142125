"""HTTP routes of invoices."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from hisaab.core.http import AUTH, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep
from hisaab.core.schemas import QueryText
from hisaab.invoicing import service
from hisaab.invoicing.rendering import service as rendering
from hisaab.invoicing.schemas import CreditBalanceOut, InvoiceOut, InvoiceStatus, PayInvoice
from hisaab.payments import service as payments

router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["invoices"])
InvoicePath = Path(max_length=64, description="An invoice id `in_…`.")
CustomerPath = Path(max_length=64, description="A customer id `cus_…`.")


@router.get("/invoices")
def list_invoices(
    session: SessionDep,
    page: PageRequestDep,
    customer_id: Annotated[QueryText, Query(max_length=64)] = None,
    subscription_id: Annotated[QueryText, Query(max_length=64)] = None,
    status: Annotated[InvoiceStatus | None, Query()] = None,
) -> Page[InvoiceOut]:
    found = service.list_invoices(session, page, customer_id, subscription_id, status)
    return Page(
        data=service.present_many(session, found.items),
        has_more=found.has_more,
        next_cursor=found.next_cursor,
    )


@router.get("/invoices/{invoice_id}")
def get_invoice(session: SessionDep, invoice_id: str = InvoicePath) -> InvoiceOut:
    return service.read(session, invoice_id)


class PdfResponse(Response):
    media_type = "application/pdf"

    @classmethod
    def of(cls, document: tuple[str, bytes]) -> PdfResponse:
        filename, content = document
        return cls(content, headers={"Content-Disposition": f'inline; filename="{filename}"'})

    @staticmethod
    def openapi(what: str) -> dict[int | str, dict[str, Any]]:
        return {
            200: {
                "description": f"The {what} as a PDF, in the customer's locale.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=PdfResponse,
    responses=PdfResponse.openapi("invoice"),
)
def get_invoice_pdf(
    session: SessionDep, tenant_id: TenantIdDep, invoice_id: str = InvoicePath
) -> PdfResponse:
    """Finalized invoices only (a draft is 409 `invalid_state`); a void one is stamped VOID."""
    return PdfResponse.of(rendering.invoice_pdf(session, tenant_id, invoice_id))


@router.get("/invoices/{invoice_id}/einvoice")
def get_invoice_einvoice(
    session: SessionDep, tenant_id: TenantIdDep, invoice_id: str = InvoicePath
) -> dict[str, Any]:
    """India e-invoice JSON (INV-01, NIC schema 1.1) to upload to the IRP, amounts in rupees.

    409 `einvoice_not_applicable` for a tenant without GSTIN or a B2C invoice,
    `einvoice_incomplete` when an address, PIN or SAC the schema requires is missing,
    `einvoice_negative_line` for an invoice with credit lines, `invalid_state` for a draft or
    void invoice.
    """
    return rendering.invoice_einvoice(session, tenant_id, invoice_id)


@router.post("/invoices/{invoice_id}/pay")
def pay_invoice(
    session: SessionDep,
    tenant_id: TenantIdDep,
    invoice_id: str = InvoicePath,
    body: Annotated[PayInvoice | None, Body()] = None,
) -> InvoiceOut:
    """Charge now, or record a payment received outside Hisaab (`paid_out_of_band`)."""
    out_of_band = body is not None and body.paid_out_of_band
    invoice = service.pay(session, tenant_id, invoice_id, out_of_band=out_of_band)
    payments.collect_requested(session)
    return service.present(session, invoice)


@router.post("/invoices/{invoice_id}/void")
def void_invoice(
    session: SessionDep, tenant_id: TenantIdDep, invoice_id: str = InvoicePath
) -> InvoiceOut:
    return service.present(session, service.void(session, tenant_id, invoice_id))


@router.post("/invoices/{invoice_id}/mark_uncollectible")
def mark_invoice_uncollectible(
    session: SessionDep, tenant_id: TenantIdDep, invoice_id: str = InvoicePath
) -> InvoiceOut:
    return service.present(session, service.mark_uncollectible(session, tenant_id, invoice_id))


@router.get("/customers/{customer_id}/credit_balance", tags=["customers"])
def get_credit_balance(
    session: SessionDep, tenant_id: TenantIdDep, customer_id: str = CustomerPath
) -> CreditBalanceOut:
    """Credit the customer has from net-credit changes, used first by its next invoices."""
    currency, balance = service.credit_balance(session, tenant_id, customer_id)
    return CreditBalanceOut(customer_id=customer_id, currency=currency, balance=balance)
