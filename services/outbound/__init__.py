"""Outbound: customer status notices by SMS (issue 21)."""
