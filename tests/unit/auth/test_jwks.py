"""The JWKS cache of every service: keys by kid, bounded refetching, stale keys kept when identity is away."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from shared.auth.jwks import JwksCache, KeysUnavailableError, TokenKeyError


def jwk(kid: str) -> dict[str, Any]:
    entry: dict[str, Any] = OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key(), as_dict=True)
    return {**entry, "kid": kid, "alg": "EdDSA", "use": "sig"}


class Identity:
    """What identity's JWKS endpoint answers, and how often it was asked."""

    def __init__(self, *kids: str) -> None:
        self.document: dict[str, Any] = {"keys": [jwk(k) for k in kids]}
        self.calls = 0
        self.down = False

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("refused")
        return self.document


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_known_key_is_served_from_the_cache_until_it_is_old() -> None:
    identity, clock = Identity("k1"), Clock()
    cache = JwksCache("http://identity/jwks", max_age=300, min_refresh=10, fetch=identity, clock=clock)
    assert cache.key("k1").algorithm_name == "EdDSA"
    clock.now += 299
    cache.key("k1")
    assert identity.calls == 1
    clock.now += 2
    cache.key("k1")
    assert identity.calls == 2


def test_unknown_key_ids_refetch_at_most_every_min_refresh_seconds() -> None:
    identity, clock = Identity("k1"), Clock()
    cache = JwksCache("http://identity/jwks", max_age=300, min_refresh=10, fetch=identity, clock=clock)
    cache.key("k1")
    for _ in range(50):  # a flood of made-up key ids
        with pytest.raises(TokenKeyError, match="unknown key"):
            cache.key("made-up")
    assert identity.calls == 1
    # a roll-over: the next key appears in the JWKS, and is found once min_refresh has passed
    identity.document["keys"].append(jwk("k2"))
    clock.now += 10
    assert cache.key("k2").algorithm_name == "EdDSA" and identity.calls == 2


def test_identity_away_keeps_the_keys_already_known_and_fails_closed_without_any() -> None:
    identity, clock = Identity("k1"), Clock()
    cache = JwksCache("http://identity/jwks", max_age=300, min_refresh=10, fetch=identity, clock=clock)
    cache.key("k1")
    identity.down = True
    clock.now += 400
    assert cache.key("k1")  # stale but known: the service keeps working
    empty = JwksCache("http://identity/jwks", fetch=identity, clock=clock)
    with pytest.raises(KeysUnavailableError):
        empty.key("k1")


def test_symmetric_or_unusable_keys_in_a_jwks_are_ignored() -> None:
    identity = Identity("k1")
    identity.document["keys"].append({"kty": "oct", "k": "c2VjcmV0", "kid": "hs", "alg": "HS256"})
    identity.document["keys"].append({"kty": "OKP", "kid": "enc", "use": "enc", "crv": "Ed25519", "x": "AA"})
    cache = JwksCache("http://identity/jwks", fetch=identity, clock=Clock())
    with pytest.raises(TokenKeyError):
        cache.key("hs")
    with pytest.raises(TokenKeyError):
        cache.key("enc")
