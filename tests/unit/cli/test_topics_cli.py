"""`hotline topics list`: every topic of the product, the Faust apps' own topics included, declared once."""

from __future__ import annotations

from hotline.topics import declared_topics
from shared.events import Topic


def test_every_product_topic_and_every_changelog_of_each_stream_processor_is_declared():
    wanted = declared_topics(partitions=6)
    assert {str(topic) for topic in Topic} <= set(wanted)
    changelogs = {name for name in wanted if name.endswith("-changelog")}
    assert {
        "hotline-sla_monitor-timers_by_ticket-changelog",
        "hotline-sla_monitor-due_index-changelog",
        "hotline-intake-grading-subject_by_ticket-changelog",
    } <= changelogs
    for name in changelogs:  # co-partitioned with hotline.tickets, compacted
        assert wanted[name].partitions == 6 and wanted[name].config["cleanup.policy"] == "compact"
    assert wanted[str(Topic.TICKETS)].config["retention.ms"] == "-1"  # the reporting rebuild reads from the start
    assert "hotline.sla.ticks" in wanted and int(wanted["hotline.sla.ticks"].config["retention.ms"]) > 0


def test_on_a_cluster_every_topic_wants_two_in_sync_replicas():
    for name, spec in declared_topics(partitions=6, replication_factor=3).items():
        assert spec.config.get("min.insync.replicas") == "2", name
    assert all("min.insync.replicas" not in spec.config for spec in declared_topics(6).values())
