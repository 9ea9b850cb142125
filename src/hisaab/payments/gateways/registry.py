"""Which adapter charges for a tenant: the sandbox for anyone, Stripe and Razorpay with the
tenant's own credentials (opened from their sealed form only for the call).

The API addresses can be pointed elsewhere (`HISAAB_STRIPE_API_BASE`, `HISAAB_RAZORPAY_API_BASE`)
for stripe-mock or a local fake; by default the SDKs talk to the real gateways.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hisaab.payments.gateways.base import GatewayConfigurationError, PaymentGateway
from hisaab.payments.gateways.razorpay_gateway import RazorpayGateway
from hisaab.payments.gateways.sandbox import SandboxGateway
from hisaab.payments.gateways.stripe_gateway import StripeGateway
from hisaab.tenants import service as tenants

GATEWAYS = ("sandbox", "stripe", "razorpay")


@dataclass(frozen=True)
class ApiBases:
    stripe: str | None = None
    razorpay: str | None = None


_bases: list[ApiBases] = [ApiBases()]


def configure(bases: ApiBases) -> None:
    _bases[0] = bases


def credentials(session: Session, tenant_id: str, name: str) -> dict[str, str]:
    found = tenants.gateway_credentials(session, tenant_id, name)
    if found is None:
        raise GatewayConfigurationError(f"the tenant has not configured {name} credentials")
    return found


def gateway_for(session: Session, tenant_id: str, name: str) -> PaymentGateway:
    """The adapter for `name` with the tenant's credentials; GatewayConfigurationError if the
    tenant has none for it."""
    if name == "sandbox":
        return SandboxGateway()
    if name == "stripe":
        found = credentials(session, tenant_id, name)
        return StripeGateway(found["secret_key"], api_base=_bases[0].stripe)
    if name == "razorpay":
        found = credentials(session, tenant_id, name)
        return RazorpayGateway(found["key_id"], found["key_secret"], base_url=_bases[0].razorpay)
    raise GatewayConfigurationError(f"unknown gateway {name!r}")
