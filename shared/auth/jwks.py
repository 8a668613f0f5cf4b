"""Verification keys from the identity service's JWKS: fetched, cached, chosen by the token's `kid`.

A service configured with `HOTLINE_JWKS_URL` accepts only asymmetric tokens (EdDSA, RS256) signed
by a key the JWKS publishes; an HS256 token is refused whatever secret made it, unless the explicit
development option `HOTLINE_JWT_DEV_HS256=true` is on. Without a JWKS URL the single configured
algorithm and key are used, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import structlog

from shared.auth.settings import AuthSettings
from shared.http.errors import ApiError

log = structlog.get_logger(__name__)

# What identity signs with; never a symmetric algorithm from a JWKS, never `none`.
ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "RS256"})


class TokenKeyError(ValueError):
    """The token names no key or algorithm this service accepts (a 401 with this message)."""


class KeysUnavailableError(ApiError):
    """The JWKS could not be fetched and nothing is cached: the service cannot verify anyone (503)."""

    def __init__(self, url: str) -> None:
        super().__init__(503, f"token keys are unavailable from {url}", code="keys_unavailable")


Fetch = Callable[[str], dict[str, Any]]


def http_fetch(url: str, timeout: float = 3.0) -> dict[str, Any]:
    response = httpx.get(url, timeout=timeout)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("a JWKS is a JSON object")
    return body


@dataclass
class JwksCache:
    """The keys of one JWKS URL, refetched after `max_age`, and on an unknown `kid` at most every `min_refresh`.

    The rate limit on refetching keeps a flood of tokens with made-up key ids from becoming a flood
    of requests to identity; a new key published ahead of use (key roll-over) is picked up by the
    periodic refresh or, at the latest, the first token that names it.
    """

    url: str
    max_age: float = 300.0
    min_refresh: float = 10.0
    fetch: Fetch = http_fetch
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _fetched_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refresh(self) -> None:
        try:
            document = self.fetch(self.url)
            keys: dict[str, jwt.PyJWK] = {}
            for entry in document.get("keys", []):
                if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
                    continue
                try:
                    jwk = jwt.PyJWK.from_dict(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError):
                    log.warning("jwks key skipped", kid=entry.get("kid"))
                    continue
                if jwk.algorithm_name in ASYMMETRIC_ALGORITHMS:
                    keys[str(entry["kid"])] = jwk
        except (httpx.HTTPError, ValueError) as exc:
            # keep serving the keys we have; try again after min_refresh, not on every token
            self._fetched_at = self.clock() - self.max_age + self.min_refresh
            log.warning("jwks fetch failed", url=self.url, error=str(exc))
            if not self._keys:
                raise KeysUnavailableError(self.url) from exc
            return
        self._keys = keys
        self._fetched_at = self.clock()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.max_age
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self.min_refresh
            if stale or (kid not in self._keys and may_refetch):
                self._refresh()
            found = self._keys.get(kid)
        if found is None:
            raise TokenKeyError("token is signed by an unknown key")
        return found


_caches: dict[str, JwksCache] = {}
_caches_lock = threading.Lock()


def cache_for(settings: AuthSettings) -> JwksCache:
    """One cache per JWKS URL per process (built on first use, never at import)."""
    if settings.jwks_url is None:
        raise ValueError("no JWKS URL configured (HOTLINE_JWKS_URL)")
    with _caches_lock:
        cache = _caches.get(settings.jwks_url)
        if cache is None:
            cache = JwksCache(settings.jwks_url, max_age=settings.jwks_cache_seconds)
            _caches[settings.jwks_url] = cache
        return cache


def verification_key(settings: AuthSettings, token: str) -> tuple[Any, list[str]]:
    """The key and the one algorithm to verify `token` with; TokenKeyError when none is acceptable."""
    if settings.jwks_url is None:
        if settings.jwt_algorithm == "RS256":
            if settings.jwt_public_key is None:
                raise TokenKeyError("RS256 is configured without a public key")
            return settings.jwt_public_key, ["RS256"]
        if settings.jwt_secret is None:
            raise TokenKeyError("no token key configured (HOTLINE_JWKS_URL or the development secret)")
        return settings.jwt_secret.get_secret_value(), [settings.jwt_algorithm]
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenKeyError("token is malformed") from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm == "HS256" and settings.jwt_dev_hs256 and settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value(), ["HS256"]
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise TokenKeyError("token is signed with an unaccepted algorithm")
    if not isinstance(kid, str) or not kid:
        raise TokenKeyError("token names no signing key (kid)")
    jwk = cache_for(settings).key(kid)
    if jwk.algorithm_name != algorithm:
        # the header may not pick an algorithm other than the one the key was published for
        raise TokenKeyError("token is signed with an unaccepted algorithm")
    return jwk.key, [jwk.algorithm_name]


def register_cache(cache: JwksCache) -> None:
    """Use `cache` for its URL in this process (identity verifies its own tokens from memory, not over HTTP)."""
    with _caches_lock:
        _caches[cache.url] = cache
