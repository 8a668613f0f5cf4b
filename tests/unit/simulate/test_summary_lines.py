"""What `hotline simulate` says before and after a run: the simulated hours it covers, the bars' own figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.commands.simulate import closing_line
from hotline.simulate.report import build_report
from hotline.simulate.runner import RunResult, coverage_line, horizon_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_run_says_how_many_simulated_hours_it_covers_from_its_first_call() -> None:
    start = datetime(2026, 3, 9, 7, 40, tzinfo=SHANGHAI)  # 20 simulated minutes before the 08:00 first call
    end = horizon_of(start, SHANGHAI, 3.0)
    assert end == datetime(2026, 3, 12, 8, 0, tzinfo=SHANGHAI)
    line = coverage_line(start, end, 3.0, 600.0)
    assert line.startswith("covers at most 72.3 simulated hours (--days 3 from the first call)")
    assert "Mon 09 Mar 07:40 to Thu 12 Mar 08:00" in line
    assert "at most 7.2 real minutes at speed 600" in line


def test_the_closing_line_repeats_the_progress_bars_figures() -> None:
    start = datetime(2026, 3, 9, 8, 0, tzinfo=SHANGHAI)
    result = RunResult(
        report=build_report([]),
        placed=50,
        refused=2,
        planned=60,
        finished=45,
        real_seconds=300.4,
        simulated_from=start,
        simulated_to=start + timedelta(hours=50),
        statuses={"201": 48, "200": 400},
        complete=False,
    )
    line = closing_line(result)
    # the bars read "calls taken 50/60" and "tickets closed 45/48"
    assert line.startswith("calls taken 50/60 (refused 2); tickets closed 45/48; horizon reached with tickets open;")
    assert "50.0 simulated hours in 300 real seconds" in line
