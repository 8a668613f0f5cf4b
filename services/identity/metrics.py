"""Identity's own Prometheus counters, registered in the registry of the app that serves them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class SignInMetrics:
    sign_ins: Counter
    refreshes: Counter

    @classmethod
    def build(cls, registry: CollectorRegistry) -> SignInMetrics:
        return cls(
            sign_ins=Counter("identity_sign_ins", "Sign-in attempts by outcome", ["outcome"], registry=registry),
            refreshes=Counter("identity_refreshes", "Refresh attempts by outcome", ["outcome"], registry=registry),
        )


@dataclass
class HousekeepingMetrics:
    rotations: Counter
    purged: Counter
    published: Gauge

    @classmethod
    def build(cls, registry: CollectorRegistry) -> HousekeepingMetrics:
        return cls(
            rotations=Counter("identity_signing_key_rotations", "Signing-key roll-overs started", registry=registry),
            purged=Counter("identity_refresh_tokens_purged", "Expired refresh tokens deleted", registry=registry),
            published=Gauge(
                "identity_signing_keys_published", "Keys in the JWKS (2 during a roll-over)", registry=registry
            ),
        )
