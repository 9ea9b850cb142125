"""Outgoing email, generic: which server, how a message is recorded once and sent once per
(event, kind) (a worker dying mid-send aside: jobs/recovery.py), and the job that sends it.
What an email says belongs to the domain that decides to send it (invoicing/notifications.py,
later dunning)."""
