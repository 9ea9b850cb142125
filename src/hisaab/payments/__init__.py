"""Payments: the gateway protocol and its adapters (sandbox, Stripe, Razorpay)."""
