"""What the reporting use cases refuse; the API turns each into its 4xx."""

from __future__ import annotations


class InvalidCommand(ValueError):
    """A request the rules refuse (422); `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NotAllowed(PermissionError):
    """Outside the caller's scope (403)."""


class NotFound(LookupError):
    """No such record in the caller's scope (404)."""
