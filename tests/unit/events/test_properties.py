"""Hypothesis properties of the envelope: any valid envelope survives encode and decode unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import REGISTRY, Payload, decode, encode, new_event
from tests.unit.events.samples import SAMPLES

pytestmark = pytest.mark.unit

identifiers = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=40,
).filter(lambda s: not any(c.isspace() for c in s))

fixed_offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
zones = st.one_of(st.just(UTC), fixed_offsets, st.timezones())
# hypothesis takes naive bounds and attaches the zones itself
instants = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones)  # noqa: DTZ001
payload_classes = st.sampled_from(sorted(REGISTRY.values(), key=lambda c: c.__name__))


@given(
    cls=payload_classes,
    key=identifiers,
    branch=identifiers,
    producer=identifiers,
    correlation_id=identifiers,
    occurred_at=instants,
    event_id=st.uuids(),
)
def test_envelope_round_trip(
    cls: type[Payload],
    key: str,
    branch: str,
    producer: str,
    correlation_id: str,
    occurred_at: datetime,
    event_id: object,
) -> None:
    ids = {f"{cls.keyed_by.value}_id": key}
    event = new_event(
        SAMPLES[cls](),
        branch=branch,
        producer=producer,
        correlation_id=correlation_id,
        occurred_at=occurred_at,
        event_id=event_id,  # type: ignore[arg-type]
        **ids,
    )
    data = encode(event)
    again = decode(data)
    assert again == event
    assert again.key == key
    assert again.occurred_at.timestamp() == occurred_at.timestamp()
    # the wire always says the offset: ISO-8601 that Python reads back as aware
    sent = datetime.fromisoformat(json.loads(data)["occurred_at"])
    assert sent.utcoffset() is not None
    assert sent.timestamp() == occurred_at.timestamp()
