"""Intake's own settings: topic names and grading app id from HOTLINE_INTAKE_*, so two systems share one broker."""

from __future__ import annotations

import pytest

from services.intake.settings import APP_ID, SUBJECTS_TOPIC, IntakeSettings
from shared.events import Topic


def test_by_default_intake_uses_the_product_topics_and_its_consumer_group() -> None:
    settings = IntakeSettings()
    assert settings.topic_names().names == {}
    assert settings.topic_names()(Topic.TICKETS) == "hotline.tickets"
    assert settings.grading().app_id == APP_ID and settings.grading().subjects_topic == SUBJECTS_TOPIC


def test_a_side_by_side_system_renames_every_topic_and_the_grading_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_INTAKE_TOPIC_TICKETS", "run1.hotline.tickets")
    monkeypatch.setenv("HOTLINE_INTAKE_TOPIC_SLA", "run1.hotline.sla")
    monkeypatch.setenv("HOTLINE_INTAKE_GRADING_APP_ID", "run1-intake-grading")
    settings = IntakeSettings()
    topics = settings.topic_names()
    assert topics(Topic.TICKETS) == "run1.hotline.tickets"
    assert topics(Topic.SLA) == "run1.hotline.sla"
    assert topics(Topic.CTI_CALLS) == "hotline.cti.calls"
    assert settings.grading().app_id == "run1-intake-grading"
