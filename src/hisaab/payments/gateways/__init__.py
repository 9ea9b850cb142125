"""Payment gateway adapters behind one protocol (`base.PaymentGateway`)."""

from hisaab.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerRequest,
    FailureCode,
    GatewayConfigurationError,
    PaymentGateway,
    PaymentMethod,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SignatureInvalid,
    WebhookEvent,
)
from hisaab.payments.gateways.sandbox import SandboxGateway

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "CustomerRequest",
    "FailureCode",
    "GatewayConfigurationError",
    "PaymentGateway",
    "PaymentMethod",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "SandboxGateway",
    "SignatureInvalid",
    "WebhookEvent",
]
