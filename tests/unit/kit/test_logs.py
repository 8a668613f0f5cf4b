"""Every log line of a service process is one JSON object; health probes and scrapes stay below INFO."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# a process as a service starts it (shared.logs at INFO), logging through structlog and the standard
# library the way Faust's table manager prints its banner, and answering probes and a real request
SCRIPT = textwrap.dedent(
    """
    import asyncio, logging
    import httpx, structlog
    from shared.logs import configure_logging
    from shared.http.app import create_app
    from shared.http.settings import HttpSettings
    from shared.auth import AuthSettings

    configure_logging("sla_monitor", "INFO")
    banner = '+Table: timers_by_ticket-+\\n| "key" | value |\\n+---------+'
    logging.getLogger("faust.tables.manager").info("[^---Recovery]: Highwaters for active tables:\\n%s", banner)
    structlog.get_logger("demo").info("structlog line", ticket_id="T-1")
    try:
        raise ValueError('a "quoted" failure')
    except ValueError:
        logging.getLogger("uvicorn.error").exception("crashed")
    app = create_app("sla_monitor", HttpSettings(), auth=AuthSettings(jwt_secret="x" * 40))

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for path in ("/health/live", "/health/ready", "/metrics", "/nowhere"):
                await client.get(path)

    asyncio.run(main())
    """
)


def _lines() -> list[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_every_line_is_json_table_banners_and_tracebacks_included() -> None:
    lines = _lines()
    records = [json.loads(line) for line in lines]  # raises on the first line that is not JSON
    banner = next(r for r in records if r["logger"] == "faust.tables.manager")
    assert '| "key" | value |' in banner["event"] and banner["level"] == "info" and banner["service"] == "sla_monitor"
    crash = next(r for r in records if r.get("logger") == "uvicorn.error")
    assert 'a "quoted" failure' in crash["exception"]
    assert any(r["event"] == "structlog line" for r in records)


def test_probes_and_scrapes_are_not_logged_at_info_but_other_requests_are() -> None:
    requests = [json.loads(line) for line in _lines() if '"http request"' in line]
    assert [r["route"] for r in requests] == ["unmatched"]  # the 404, not the three probes


def test_a_crash_that_escapes_everything_is_logged_as_one_json_line() -> None:
    script = (
        'from shared.logs import configure_logging\nconfigure_logging("intake", "INFO")\nraise RuntimeError("boom")\n'
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    (record,) = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert record["level"] == "critical" and record["event"] == "process failed: boom"
    assert "RuntimeError: boom" in record["exception"]
