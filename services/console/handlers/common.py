"""What more than one of the console's handlers needs."""

OPEN_STATUSES_CLOSED = frozenset({"closed", "resolved_on_call", "resolved_on_first_contact"})
"""Statuses after which a ticket is no longer open (the call pop and the duplicate hint skip them)."""
