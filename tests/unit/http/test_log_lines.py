"""Issue 14 #15: every log line is JSON with time, level, service and role, library lines included."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from shared.logs import configure_logging


def test_library_and_structlog_lines_are_json_with_time_level_service_and_role(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("dispatch", "INFO", json=True, role="worker")
    try:
        logging.getLogger("aiokafka.consumer.group_coordinator").warning(
            'Heartbeat failed for group "g": caller 13812345678'
        )
        logging.getLogger("faust.transport").error("stream %s stalled", "tickets")
        structlog.contextvars.clear_contextvars()  # what the request middleware does after each request
        structlog.get_logger("x").info("ticket_dispatched", ticket_id="T-1")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    finally:
        logging.getLogger().handlers[:] = []
        structlog.reset_defaults()
    assert len(lines) == 3
    for line in lines:
        assert {"timestamp", "level", "service", "role", "event"} <= set(line), line
        assert (line["service"], line["role"]) == ("dispatch", "worker")
        assert line["timestamp"].endswith("Z") or "+00:00" in line["timestamp"]
    assert lines[0]["level"] == "warning" and "13812345678" not in lines[0]["event"]
    assert lines[1]["event"] == "stream tickets stalled" and lines[1]["logger"] == "faust.transport"
