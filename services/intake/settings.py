"""Intake's own settings (HOTLINE_INTAKE_*): topic names and the grading app, so two systems can share a broker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic

SUBJECTS_TOPIC = "hotline.intake.complaint-subjects"  # intake's own repartition topic, keyed by subject
APP_ID = "hotline-intake-grading"


@dataclass
class TopicNames:
    """The real topic names; tests point a whole service at topics of their own."""

    names: Mapping[Topic, str] = field(default_factory=dict)

    def __call__(self, topic: Topic | str) -> str:
        return self.names.get(Topic(topic), str(topic))


@dataclass(frozen=True)
class GradingSettings:
    app_id: str = APP_ID
    store: str = "memory://"  # the tables come back from their changelog topics on start; rocksdb:// keeps them on disk
    subjects_topic: str = SUBJECTS_TOPIC
    replication_factor: int = 1  # of the changelog and subjects topics it creates (3 on a cluster)
    standby_replicas: int = 0  # warm copies of each partition's tables on another worker


class IntakeSettings(BaseSettings):
    """HOTLINE_INTAKE_*: topic names and the grading app id, so two systems can share one broker side by side."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_INTAKE_", extra="ignore")

    topic_tickets: str = Topic.TICKETS.value
    topic_sla: str = Topic.SLA.value
    topic_cti_calls: str = Topic.CTI_CALLS.value
    topic_notifications: str = Topic.NOTIFICATIONS.value
    grading_app_id: str = APP_ID
    grading_subjects_topic: str = SUBJECTS_TOPIC
    # memory:// replays the changelogs on every start; rocksdb:// keeps the tables on the worker's volume
    grading_store: str = "memory://"
    grading_replication_factor: int = Field(default=1, ge=1)
    grading_standby_replicas: int = Field(default=0, ge=0)
    # processes of the API role sharing its port (SO_REUSEPORT); `hotline up` runs one per core
    api_processes: int = Field(default=1, ge=1, le=32)
    # dispatch's API: the org tree a work order's unit must be in, and the routing rules of a call's split
    dispatch_url: str = "http://127.0.0.1:8102"

    def topic_names(self) -> TopicNames:
        chosen = {
            Topic.TICKETS: self.topic_tickets,
            Topic.SLA: self.topic_sla,
            Topic.CTI_CALLS: self.topic_cti_calls,
            Topic.NOTIFICATIONS: self.topic_notifications,
        }
        # only renamed topics: with none, the consumer group stays hotline-intake
        return TopicNames({topic: name for topic, name in chosen.items() if name != topic.value})

    def grading(self) -> GradingSettings:
        return GradingSettings(
            app_id=self.grading_app_id,
            store=self.grading_store,
            subjects_topic=self.grading_subjects_topic,
            replication_factor=self.grading_replication_factor,
            standby_replicas=self.grading_standby_replicas,
        )
