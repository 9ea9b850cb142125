"""Outgoing email, generic: which server, how a message is recorded once and sent at most once
per (event, kind), and the job that sends it. What an email says belongs to the domain that
decides to send it (invoicing/notifications.py, later dunning)."""
