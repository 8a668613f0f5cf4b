"""Signing keys (Ed25519, EdDSA): create, roll over with two keys published, sign access tokens, serve the JWKS.

A roll-over publishes the new key at once and lets it sign only `publish_ahead` later (the services'
JWKS cache age), so no service meets a token whose key it has not seen; the old key stops signing
then and stays published until the last token it signed has expired. The private keys are kept in
identity's own database (PKCS#8 PEM); a deployment that wants them in a KMS replaces this module.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity import store
from services.identity.store import SigningKey

ALGORITHM = "EdDSA"
# how long an API process trusts its snapshot of the key table before reading it again
SNAPSHOT_SECONDS = 30.0


def new_signing_key(now: datetime, activates_at: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"
    jwk: dict[str, Any] = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_pem=pem,
        public_jwk=jwk,
        created_at=now,
        activates_at=activates_at,
        retired_at=None,
        expires_at=None,
    )


def signing_key_at(keys: list[SigningKey], now: datetime) -> SigningKey | None:
    """The newest key that is active at `now` (activated, not retired)."""
    usable = [k for k in keys if k.activates_at <= now and (k.retired_at is None or k.retired_at > now)]
    return max(usable, key=lambda k: k.activates_at, default=None)


async def ensure_signing_key(session: AsyncSession, now: datetime) -> SigningKey:
    """A key that signs now, created when there is none (first start)."""
    keys = list(await store.published_keys(session, now))
    current = signing_key_at(keys, now)
    if current is not None:
        return current
    key = new_signing_key(now, now)
    session.add(key)
    await session.flush()
    return key


async def rotate_keys(
    session: AsyncSession, now: datetime, *, publish_ahead: timedelta, token_lifetime: timedelta
) -> SigningKey:
    """Publish a new key now that signs from now + `publish_ahead`; retire the others when it does."""
    keys = list(await store.published_keys(session, now))
    new = new_signing_key(now, now + publish_ahead)
    for key in keys:
        if key.retired_at is None or key.retired_at > new.activates_at:
            key.retired_at = new.activates_at
            # a token signed at the last moment is valid for token_lifetime (+ the services' leeway)
            key.expires_at = new.activates_at + token_lifetime + timedelta(minutes=1)
    session.add(new)
    await session.flush()
    return new


async def drop_expired_keys(session: AsyncSession, now: datetime) -> int:
    expired = list(await store.expired_keys(session, now))
    for key in expired:
        await session.delete(key)
    await session.flush()
    return len(expired)


@dataclass
class _Snapshot:
    keys: list[SigningKey]
    private: dict[str, Ed25519PrivateKey]
    taken: float


class KeyRing:
    """An API process's view of the key table: signs with the active key, serves the published ones."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._snapshot: _Snapshot | None = None

    async def refresh(self, now: datetime) -> None:
        async with self.sessions() as session, session.begin():
            await ensure_signing_key(session, now)
            keys = list(await store.published_keys(session, now))
        private: dict[str, Ed25519PrivateKey] = {}
        for key in keys:
            loaded = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
            assert isinstance(loaded, Ed25519PrivateKey)
            private[key.kid] = loaded
        self._snapshot = _Snapshot(keys, private, time.monotonic())

    async def _current(self, now: datetime) -> _Snapshot:
        snap = self._snapshot
        if snap is None or time.monotonic() - snap.taken > SNAPSHOT_SECONDS or signing_key_at(snap.keys, now) is None:
            await self.refresh(now)
            snap = self._snapshot
        assert snap is not None
        return snap

    async def prepare(self, now: datetime) -> None:
        """Have a current snapshot before a use case opens its transaction (signing then needs no I/O)."""
        await self._current(now)

    def sign(self, claims: dict[str, Any], now: datetime) -> str:
        snap = self._snapshot
        key = signing_key_at(snap.keys, now) if snap is not None else None
        if snap is None or key is None:
            raise RuntimeError("KeyRing.prepare() was not awaited before signing")
        return jwt.encode(claims, snap.private[key.kid], algorithm=ALGORITHM, headers={"kid": key.kid})

    async def jwks(self, now: datetime) -> dict[str, Any]:
        snap = await self._current(now)
        return self.document(snap.keys, now)

    def cached_jwks(self) -> dict[str, Any]:
        """The last snapshot's JWKS without I/O (identity verifying its own tokens)."""
        if self._snapshot is None:
            return {"keys": []}
        return {"keys": [dict(k.public_jwk) for k in self._snapshot.keys]}

    @staticmethod
    def document(keys: list[SigningKey], now: datetime) -> dict[str, Any]:
        return {"keys": [dict(k.public_jwk) for k in keys if k.expires_at is None or k.expires_at > now]}
