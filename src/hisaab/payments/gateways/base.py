"""The contract every payment gateway adapter fulfils, and the values that cross it.

Adapters translate between Hisaab and one gateway: they never touch the database, never read the
system clock for business decisions (webhook freshness is judged against the `now` they are
given), and never raise for an ordinary payment outcome. A decline, an authentication demand or a
network failure is a `ChargeResult`; only programming or configuration mistakes raise.

Every call that moves money carries an idempotency key that the adapter hands to the gateway, so
a retried attempt (the job ran twice, the network dropped the answer) never charges twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"


class FailureCode(StrEnum):
    """Gateway decline reasons normalised to one vocabulary (API.md `failure_code`)."""

    GENERIC_DECLINE = "generic_decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    AUTHENTICATION_REQUIRED = "authentication_required"
    CARD_DECLINED = "card_declined"  # any other issuer decline
    EXPIRED_CARD = "expired_card"
    FRAUDULENT = "fraudulent"
    PROCESSING_ERROR = "processing_error"  # the gateway or issuer failed, not the card
    NETWORK_ERROR = "network_error"  # we could not learn the outcome
    INVALID_REQUEST = "invalid_request"  # our request or the payment method is unusable


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


class SignatureInvalid(Exception):
    """A webhook's signature is missing, wrong, made with another secret, or too old."""


class GatewayConfigurationError(Exception):
    """The adapter cannot work with what it was given (bad credentials, unknown token)."""


@dataclass(frozen=True)
class CustomerRequest:
    reference: str  # Hisaab's customer id, stored with the gateway's customer
    name: str
    email: str | None = None
    phone: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class PaymentMethod:
    """A customer's payment method as the gateway knows it (never card data)."""

    gateway_ref: str
    kind: str  # card | upi | ...
    brand: str | None = None
    last4: str | None = None


@dataclass(frozen=True)
class ChargeRequest:
    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    customer_ref: str  # the gateway's customer id
    payment_method_ref: str  # the gateway's payment method / token / mandate id
    idempotency_key: str
    off_session: bool = True
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_email: str | None = None  # Razorpay recurring payments require these
    customer_phone: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("amount must be a positive integer of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError("currency must be an ISO 4217 code")
        if not self.idempotency_key:
            raise ValueError("a charge needs an idempotency key")


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    gateway_charge_id: str | None
    failure_code: FailureCode | None = None
    retryable: bool = False  # soft decline / unknown outcome: dunning may try again
    message: str | None = None
    raw_code: str | None = None  # the gateway's own decline code, for support

    @property
    def succeeded(self) -> bool:
        return self.status is ChargeStatus.SUCCEEDED


@dataclass(frozen=True)
class PaymentLinkRequest:
    """A page at the gateway where the customer pays one invoice themselves (on session)."""

    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    customer_ref: str  # the gateway's customer id
    idempotency_key: str
    description: str
    return_url: str  # where the gateway sends the customer back (Hisaab's pay page)
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_name: str | None = None
    customer_email: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("amount must be a positive integer of minor units")
        if not self.idempotency_key:
            raise ValueError("a payment link needs an idempotency key")


@dataclass(frozen=True)
class PaymentLinkResult:
    """`gateway_ref` is what the gateway's later webhook names (Checkout Session, Payment Link);
    None when nothing was created at a gateway (the sandbox pays on Hisaab's own page)."""

    url: str
    gateway_ref: str | None


@dataclass(frozen=True)
class RefundRequest:
    gateway_charge_id: str
    amount: int  # minor units
    currency: str
    idempotency_key: str
    reason: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("amount must be a positive integer of minor units")
        if not self.idempotency_key:
            raise ValueError("a refund needs an idempotency key")


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    gateway_refund_id: str | None
    failure_code: FailureCode | None = None
    message: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound gateway event; `id` is what replay protection deduplicates on."""

    gateway: str
    id: str
    type: str
    data: Mapping[str, Any]
    created: datetime | None = None


class PaymentGateway(Protocol):
    name: str

    def create_customer(self, request: CustomerRequest) -> str:
        """The gateway's id for this customer (the same one again for a repeated request)."""
        ...

    def attach_payment_method(self, customer_ref: str, token: str) -> PaymentMethod: ...

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def create_payment_link(self, request: PaymentLinkRequest) -> PaymentLinkResult:
        """Where the customer pays the amount with the gateway's own checkout; raises
        `GatewayConfigurationError` if the gateway refuses to make one."""
        ...

    def verify_webhook(
        self, payload: bytes, headers: Mapping[str, str], secret: str, now: datetime
    ) -> WebhookEvent:
        """The event, if the signature is the gateway's; else raise `SignatureInvalid`."""
        ...


# Issuer decline codes (Stripe's vocabulary, shared by most acquirers) → normalised code and
# whether trying again later can succeed (soft) or never will without a new method (hard).
_DECLINES: dict[str, tuple[FailureCode, bool]] = {
    "generic_decline": (FailureCode.GENERIC_DECLINE, True),
    "do_not_honor": (FailureCode.GENERIC_DECLINE, True),
    "insufficient_funds": (FailureCode.INSUFFICIENT_FUNDS, True),
    "card_velocity_exceeded": (FailureCode.INSUFFICIENT_FUNDS, True),
    "withdrawal_count_limit_exceeded": (FailureCode.INSUFFICIENT_FUNDS, True),
    "authentication_required": (FailureCode.AUTHENTICATION_REQUIRED, False),
    "expired_card": (FailureCode.EXPIRED_CARD, False),
    "fraudulent": (FailureCode.FRAUDULENT, False),
    "lost_card": (FailureCode.CARD_DECLINED, False),
    "stolen_card": (FailureCode.CARD_DECLINED, False),
    "pickup_card": (FailureCode.CARD_DECLINED, False),
    "restricted_card": (FailureCode.CARD_DECLINED, False),
    "incorrect_number": (FailureCode.CARD_DECLINED, False),
    "invalid_account": (FailureCode.CARD_DECLINED, False),
    "card_not_supported": (FailureCode.CARD_DECLINED, False),
    "currency_not_supported": (FailureCode.CARD_DECLINED, False),
    "transaction_not_allowed": (FailureCode.CARD_DECLINED, False),
    "try_again_later": (FailureCode.PROCESSING_ERROR, True),
    "processing_error": (FailureCode.PROCESSING_ERROR, True),
    "issuer_not_available": (FailureCode.PROCESSING_ERROR, True),
    "reenter_transaction": (FailureCode.PROCESSING_ERROR, True),
}


def classify_decline(code: str | None) -> tuple[FailureCode, bool]:
    """Normalise a gateway decline code; an unknown code is a soft `card_declined`."""
    if code is None:
        return FailureCode.GENERIC_DECLINE, True
    return _DECLINES.get(code, (FailureCode.CARD_DECLINED, True))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case its name arrived in."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
