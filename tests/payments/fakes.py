"""Local fakes of the Stripe and Razorpay HTTP APIs: just the endpoints the adapters call.

Each fake is a threaded `http.server` on 127.0.0.1 with a random port. It checks auth and body
encoding like the real API (Stripe: form-encoded bodies and `Idempotency-Key`; Razorpay: JSON
bodies and HTTP basic auth), answers with realistic JSON (Stripe error objects carry
`decline_code` and `payment_intent`; Razorpay errors carry `code`, `reason`, `metadata`), and
records every request so tests can assert what reached the "gateway" and how many charges exist.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

CREATED = 1_748_779_200  # 2025-06-01T12:00:00Z


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


class FakeAPI:
    """Shared plumbing: request log, dropped connections, a lock around state."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.drop_next = 0  # close the connection without answering (after doing the work)
        self.drop_path: str | None = None  # ... only for the next request to this path
        self.url = ""

    def handle(self, recorded: Recorded) -> Reply:
        raise NotImplementedError

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(7)}"


API = TypeVar("API", bound=FakeAPI)


@contextmanager
def serve(api: API) -> Iterator[API]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _dispatch(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            split = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            ctype = headers.get("content-type", "")
            body: dict[str, Any]
            if method == "GET":
                body = dict(parse_qsl(split.query))
            elif "json" in ctype:
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw, keep_blank_values=True))
                body["__content_type__"] = ctype
            recorded = Recorded(method, split.path, headers, body)
            with api.lock:
                api.requests.append(recorded)
                reply = api.handle(recorded)
                drop = api.drop_next > 0 or api.drop_path == recorded.path
                if api.drop_next > 0:
                    api.drop_next -= 1
                if api.drop_path == recorded.path:
                    api.drop_path = None
            if drop:
                self.close_connection = True
                self.connection.close()
                return
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", FakeAPI.new_id("req"))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------- Stripe

STRIPE_CARDS: dict[str, tuple[str, str | None]] = {
    # token → (what happens, decline_code)
    "pm_card_visa": ("succeed", None),
    "pm_card_chargeDeclined": ("decline", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("decline", "insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": ("decline", "expired_card"),
    "pm_card_chargeDeclinedFraudulent": ("decline", "fraudulent"),
    "pm_card_authenticationRequired": ("authenticate", "authentication_required"),
}


def _stripe_error(status: int, kind: str, message: str, **extra: Any) -> Reply:
    error = {"type": kind, "message": message, "doc_url": "https://stripe.com/docs/error-codes"}
    error.update(extra)
    return Reply(status, {"error": error})


@dataclass
class FakeStripe(FakeAPI):
    api_key: str = "sk_test_fake"
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkout_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, dict[str, Any], Reply]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def charges_created(self) -> int:
        return len(self.intents)

    def handle(self, recorded: Recorded) -> Reply:
        if recorded.headers.get("authorization") != f"Bearer {self.api_key}":
            return _stripe_error(401, "invalid_request_error", "Invalid API Key provided.")
        if recorded.method == "POST":
            if recorded.body.pop("__content_type__") != "application/x-www-form-urlencoded":
                return _stripe_error(400, "invalid_request_error", "Invalid request body.")
            key = recorded.headers.get("idempotency-key")
            if key:
                seen = self.idempotent.get(key)
                if seen is not None:
                    path, params, reply = seen
                    if (path, params) != (recorded.path, recorded.body):
                        return _stripe_error(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        )
                    return reply
                reply = self._route(recorded)
                self.idempotent[key] = (recorded.path, dict(recorded.body), reply)
                return reply
        return self._route(recorded)

    def _route(self, r: Recorded) -> Reply:
        parts = r.path.strip("/").split("/")
        match (r.method, parts):
            case ("POST", ["v1", "customers"]):
                return self._create_customer(r.body)
            case ("POST", ["v1", "payment_methods", pm, "attach"]):
                return self._attach(pm, r.body)
            case ("POST", ["v1", "payment_intents"]):
                return self._create_intent(r.body)
            case ("POST", ["v1", "refunds"]):
                return self._create_refund(r.body)
            case ("POST", ["v1", "checkout", "sessions"]):
                return self._create_checkout_session(r.body)
        return _stripe_error(404, "invalid_request_error", f"Unrecognized request URL ({r.path}).")

    @staticmethod
    def _metadata(body: dict[str, Any]) -> dict[str, str]:
        return {k[9:-1]: v for k, v in body.items() if k.startswith("metadata[")}

    def _create_customer(self, body: dict[str, Any]) -> Reply:
        cus = {
            "id": self.new_id("cus"),
            "object": "customer",
            "email": body.get("email"),
            "name": body.get("name"),
            "metadata": self._metadata(body),
            "created": CREATED,
            "livemode": False,
        }
        self.customers[cus["id"]] = cus
        return Reply(200, cus)

    def _attach(self, pm: str, body: dict[str, Any]) -> Reply:
        if pm not in STRIPE_CARDS:
            return _stripe_error(
                404,
                "invalid_request_error",
                f"No such PaymentMethod: '{pm}'",
                code="resource_missing",
                param="payment_method",
            )
        if body.get("customer") not in self.customers:
            return _stripe_error(
                400, "invalid_request_error", "No such customer", code="resource_missing"
            )
        return Reply(200, self._payment_method(pm, body["customer"]))

    @staticmethod
    def _payment_method(pm: str, customer: str | None) -> dict[str, Any]:
        return {
            "id": pm,
            "object": "payment_method",
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034},
            "customer": customer,
            "livemode": False,
        }

    def _create_intent(self, body: dict[str, Any]) -> Reply:
        for required in ("amount", "currency"):
            if required not in body:
                return _stripe_error(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {required}.",
                    code="parameter_missing",
                    param=required,
                )
        if not body["amount"].isdigit() or body["currency"] != body["currency"].lower():
            return _stripe_error(400, "invalid_request_error", "Invalid amount or currency.")
        pm = body.get("payment_method")
        if pm not in STRIPE_CARDS:
            return _stripe_error(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{pm}'",
                code="resource_missing",
                param="payment_method",
            )
        if body.get("customer") not in self.customers:
            return _stripe_error(
                400, "invalid_request_error", "No such customer", code="resource_missing"
            )
        if body.get("off_session") == "true" and body.get("confirm") != "true":
            return _stripe_error(
                400,
                "invalid_request_error",
                "off_session can only be used when confirm=true.",
                param="off_session",
            )
        intent = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": int(body["amount"]),
            "amount_received": 0,
            "currency": body["currency"],
            "customer": body["customer"],
            "payment_method": pm,
            "description": body.get("description"),
            "metadata": self._metadata(body),
            "status": "requires_confirmation",
            "last_payment_error": None,
            "latest_charge": None,
            "created": CREATED,
            "livemode": False,
        }
        self.intents[intent["id"]] = intent
        outcome, decline = STRIPE_CARDS[pm]
        if body.get("confirm") != "true":
            return Reply(200, intent)
        if outcome == "succeed":
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=self.new_id("ch"),
            )
            return Reply(200, intent)
        if outcome == "authenticate" and body.get("off_session") != "true":
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return Reply(200, intent)
        code = "authentication_required" if outcome == "authenticate" else "card_declined"
        message = (
            "Your card was declined. This transaction requires authentication."
            if outcome == "authenticate"
            else "Your card was declined."
        )
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline,
            "message": message,
            "charge": self.new_id("ch"),
            "payment_method": self._payment_method(pm, body["customer"]),
        }
        intent.update(status="requires_payment_method", last_payment_error=error)
        return Reply(402, {"error": {**error, "payment_intent": intent}})

    def _create_checkout_session(self, body: dict[str, Any]) -> Reply:
        if body.get("mode") != "payment":
            return _stripe_error(400, "invalid_request_error", "Invalid mode.", param="mode")
        for required in ("success_url", "line_items[0][price_data][unit_amount]"):
            if not body.get(required):
                return _stripe_error(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {required}.",
                    code="parameter_missing",
                    param=required,
                )
        if body.get("customer") and body["customer"] not in self.customers:
            return _stripe_error(
                400, "invalid_request_error", "No such customer", code="resource_missing"
            )
        session_id = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "customer": body.get("customer"),
            "client_reference_id": body.get("client_reference_id"),
            "amount_total": int(body["line_items[0][price_data][unit_amount]"]),
            "currency": body.get("line_items[0][price_data][currency]"),
            "metadata": self._metadata(body),
            "success_url": body["success_url"],
            "cancel_url": body.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "payment_intent": None,
            "created": CREATED,
            "livemode": False,
        }
        self.checkout_sessions[session_id] = session
        return Reply(200, session)

    def _create_refund(self, body: dict[str, Any]) -> Reply:
        intent = self.intents.get(body.get("payment_intent", ""))
        if intent is None:
            return _stripe_error(
                400, "invalid_request_error", "No such payment_intent", code="resource_missing"
            )
        if intent["status"] != "succeeded":
            return _stripe_error(
                400,
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        amount = int(body.get("amount", intent["amount"]))
        already = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        if amount + already > intent["amount"]:
            return _stripe_error(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge.",
                code="charge_exceeds_source_limit",
            )
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "reason": body.get("reason"),
            "metadata": self._metadata(body),
            "created": CREATED,
        }
        self.refunds[refund["id"]] = refund
        return Reply(200, refund)


# -------------------------------------------------------------------------------------- Razorpay

RAZORPAY_TOKENS: dict[str, tuple[str, str | None]] = {
    # token → (method, error_reason of a recurring payment; None = captured)
    "token_card_success": ("card", None),
    "token_upi_success": ("upi", None),
    "token_card_declined": ("card", "card_declined"),
    "token_card_insufficient": ("card", "insufficient_funds"),
    "token_card_authentication": ("card", "authentication_failed"),
    "token_card_expired": ("card", "card_expired"),
}


def _razorpay_error(status: int, description: str, **extra: Any) -> Reply:
    error = {
        "code": "BAD_REQUEST_ERROR",
        "description": description,
        "source": "business",
        "step": "payment_initiation",
        "reason": "input_validation_failed",
        "metadata": {},
        "field": None,
    }
    error.update(extra)
    return Reply(status, {"error": error})


@dataclass
class FakeRazorpay(FakeAPI):
    key_id: str = "rzp_test_fake"
    key_secret: str = "fake_secret"
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_links: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def charges_created(self) -> int:
        return len(self.payments)

    def handle(self, recorded: Recorded) -> Reply:
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if recorded.headers.get("authorization") != f"Basic {expected}":
            return _razorpay_error(401, "Authentication failed", reason="authentication_failed")
        if recorded.method == "POST" and recorded.body.pop("__content_type__", None) is not None:
            return _razorpay_error(400, "The request body must be JSON")
        parts = recorded.path.strip("/").split("/")
        body = recorded.body
        match (recorded.method, parts):
            case ("POST", ["v1", "customers"]):
                return self._create_customer(body)
            case ("GET", ["v1", "customers", customer, "tokens", token]):
                return self._token(customer, token)
            case ("GET", ["v1", "orders"]):
                items = [o for o in self.orders.values() if o["receipt"] == body.get("receipt")]
                return Reply(200, {"entity": "collection", "count": len(items), "items": items})
            case ("POST", ["v1", "orders"]):
                return self._create_order(body)
            case ("GET", ["v1", "orders", order_id, "payments"]):
                items = [p for p in self.payments.values() if p["order_id"] == order_id]
                return Reply(200, {"entity": "collection", "count": len(items), "items": items})
            case ("POST", ["v1", "payments", "create", "recurring"]):
                return self._recurring(body)
            case ("GET", ["v1", "payments", payment_id]) if payment_id in self.payments:
                return Reply(200, self.payments[payment_id])
            case ("GET", ["v1", "payments", payment_id, "refunds"]):
                items = [r for r in self.refunds.values() if r["payment_id"] == payment_id]
                return Reply(200, {"entity": "collection", "count": len(items), "items": items})
            case ("POST", ["v1", "payments", payment_id, "refund"]):
                return self._refund(payment_id, body)
            case (method, ["v1", "payment_links"]):
                return self._payment_links(method, body)
        return _razorpay_error(400, "The requested URL was not found on the server.")

    def _create_customer(self, body: dict[str, Any]) -> Reply:
        if not body.get("name"):
            return _razorpay_error(400, "The name field is required.", field="name")
        for existing in self.customers.values():
            if body.get("email") and existing["email"] == body.get("email"):
                if body.get("fail_existing") == "0":
                    return Reply(200, existing)
                return _razorpay_error(400, "Customer already exists for the merchant")
        customer = {
            "id": self.new_id("cust"),
            "entity": "customer",
            "name": body["name"],
            "email": body.get("email"),
            "contact": body.get("contact"),
            "notes": body.get("notes") or [],
            "created_at": CREATED,
        }
        self.customers[customer["id"]] = customer
        return Reply(200, customer)

    def _token(self, customer: str, token: str) -> Reply:
        if customer not in self.customers or token not in RAZORPAY_TOKENS:
            return _razorpay_error(400, "The id provided does not exist")
        method = RAZORPAY_TOKENS[token][0]
        return Reply(
            200,
            {
                "id": token,
                "entity": "token",
                "method": method,
                "recurring": True,
                "recurring_details": {"status": "confirmed", "failure_reason": None},
                "card": {"network": "Visa", "last4": "1111", "type": "credit"}
                if method == "card"
                else None,
                "vpa": {"username": "asha", "handle": "okhdfc"} if method == "upi" else None,
                "created_at": CREATED,
            },
        )

    def _create_order(self, body: dict[str, Any]) -> Reply:
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return _razorpay_error(400, "The amount must be atleast INR 1.00", field="amount")
        receipt = body.get("receipt") or ""
        if len(receipt) > 40:
            return _razorpay_error(400, "receipt may not be greater than 40 characters.")
        order = {
            "id": self.new_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": body.get("currency"),
            "receipt": receipt,
            "status": "created",
            "attempts": 0,
            "notes": body.get("notes") or [],
            "created_at": CREATED,
        }
        self.orders[order["id"]] = order
        return Reply(200, order)

    def _recurring(self, body: dict[str, Any]) -> Reply:
        order = self.orders.get(body.get("order_id", ""))
        if order is None:
            return _razorpay_error(400, "The id provided does not exist", field="order_id")
        if order["status"] == "paid":
            return _razorpay_error(400, "Order has already been paid")
        if body.get("recurring") != "1" or body.get("amount") != order["amount"]:
            return _razorpay_error(400, "Invalid recurring payment request")
        for required in ("email", "contact", "customer_id", "token"):
            if not body.get(required):
                return _razorpay_error(400, f"The {required} field is required.", field=required)
        token = RAZORPAY_TOKENS.get(body["token"])
        if token is None or body["customer_id"] not in self.customers:
            return _razorpay_error(400, "The token id provided does not exist", field="token")
        order["attempts"] += 1
        method, reason = token
        payment = {
            "id": self.new_id("pay"),
            "entity": "payment",
            "amount": order["amount"],
            "currency": order["currency"],
            "status": "captured" if reason is None else "failed",
            "order_id": order["id"],
            "method": method,
            "captured": reason is None,
            "customer_id": body["customer_id"],
            "token_id": body["token"],
            "recurring": True,
            "error_code": None if reason is None else "BAD_REQUEST_ERROR",
            "error_description": None if reason is None else "Payment failed",
            "error_source": None if reason is None else "customer",
            "error_step": None if reason is None else "payment_authorization",
            "error_reason": reason,
            "notes": body.get("notes") or [],
            "created_at": CREATED,
        }
        self.payments[payment["id"]] = payment
        if reason is not None:
            return _razorpay_error(
                400,
                "Payment failed",
                source="customer",
                step="payment_authorization",
                reason=reason,
                metadata={"payment_id": payment["id"], "order_id": order["id"]},
            )
        order.update(status="paid", amount_paid=order["amount"], amount_due=0)
        return Reply(
            200,
            {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": order["id"],
                "razorpay_signature": secrets.token_hex(32),
            },
        )

    def _payment_links(self, method: str, body: dict[str, Any]) -> Reply:
        if method == "POST":
            return self._create_payment_link(body)
        links = [
            link
            for link in self.payment_links.values()
            if "reference_id" not in body or link["reference_id"] == body["reference_id"]
        ]
        return Reply(200, {"payment_links": links})

    def _create_payment_link(self, body: dict[str, Any]) -> Reply:
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return _razorpay_error(400, "The amount must be atleast INR 1.00", field="amount")
        reference = body.get("reference_id") or ""
        if len(reference) > 40:
            return _razorpay_error(400, "reference_id may not be greater than 40 characters.")
        if any(link["reference_id"] == reference for link in self.payment_links.values()):
            return _razorpay_error(
                400, f"Payment Link with reference id {reference} already exists"
            )
        if body.get("callback_url") and body.get("callback_method") != "get":
            return _razorpay_error(400, "callback_method must be get", field="callback_method")
        link_id = self.new_id("plink")
        link = {
            "id": link_id,
            "entity": "payment_link",
            "amount": amount,
            "amount_paid": 0,
            "currency": body.get("currency", "INR"),
            "accept_partial": bool(body.get("accept_partial")),
            "reference_id": reference,
            "description": body.get("description"),
            "customer": body.get("customer") or {},
            "notify": body.get("notify") or {},
            "notes": body.get("notes") or [],
            "callback_url": body.get("callback_url"),
            "callback_method": body.get("callback_method"),
            "status": "created",
            "short_url": f"https://rzp.test/i/{link_id[6:]}",
            "created_at": CREATED,
        }
        self.payment_links[link_id] = link
        return Reply(200, link)

    def _refund(self, payment_id: str, body: dict[str, Any]) -> Reply:
        payment = self.payments.get(payment_id)
        if payment is None or payment["status"] != "captured":
            return _razorpay_error(400, "The payment id provided is not valid or not captured")
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_id"] == payment_id)
        amount = body.get("amount", payment["amount"] - refunded)
        if amount + refunded > payment["amount"]:
            return _razorpay_error(
                400, "The refund amount provided is greater than amount captured"
            )
        refund = {
            "id": self.new_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment_id,
            "receipt": body.get("receipt"),
            "notes": body.get("notes") or [],
            "status": "processed",
            "speed_requested": body.get("speed", "normal"),
            "created_at": CREATED,
        }
        self.refunds[refund["id"]] = refund
        return Reply(200, refund)
