"""Outbox of events and (later) their outbound delivery as Standard Webhooks."""
