"""Argon2id password hashes, computed off the event loop and with bounded concurrency.

Parameters (settings.py): Argon2id, t=2 passes, m=19 MiB, p=1 lane, 16-byte salt, 32-byte hash:
OWASP's Password Storage Cheat Sheet baseline (equivalent in cost to its m=46 MiB/t=1 option) and
within RFC 9106's "memory-constrained" guidance. One lane because sign-ins arrive concurrently and
this machine has few cores: parallel lanes would only move work between requests. At most
`argon2_concurrency` hashes run at once per process, so memory stays at about 19 MiB x that number
and an attacker flooding sign-in slows sign-in, not the rest of the service. The hash string
carries its parameters, so raising them later rehashes each password at its next sign-in.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hash and verify; `verify_or_dummy` takes the same time whether or not the person exists."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(concurrency)
        # verified against when the username is unknown, so that answer costs one hash too
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash_now(self, password: str) -> str:
        """Synchronous hash (CLI, imports)."""
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify_or_dummy(self, stored: str | None, password: str) -> bool:
        """True only for a stored hash that matches; a missing hash costs one verification all the same."""
        async with self._slots:
            ok = await asyncio.to_thread(self._verify, stored or self._dummy, password)
        return ok and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)
