"""The domain's base error, importable without the database layer (for the client)."""

from __future__ import annotations


class DomainError(ValueError):
    """A request the domain refuses, with a message the user can act on."""
