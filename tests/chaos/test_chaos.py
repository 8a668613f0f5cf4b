"""The short fault-injection run (issue 14): 20 faults of every kind on a private three-broker cluster under the
simulator's traffic; nothing accepted may be lost and no side effect may happen twice.

Run by `make chaos` (not by `make test`: its first runs found a lost SLA timer after a kill -9 of an SLA
monitor process, still open in issue 14). `hotline chaos --faults 100` is the long run
(docs/operations/chaos.md). Under CI=true a cluster that cannot start is a failure, not a skip
(tests/conftest.py `cannot_start`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.chaos.report import summary_lines
from hotline.chaos.run import ChaosOptions, ChaosResult, run_chaos
from hotline.infra.process import InfraError
from tests.conftest import cannot_start

SHORT = ChaosOptions(faults=20, calls=40, gap=6.0, pause=30.0, settle=150.0)


@pytest.mark.chaos
async def test_twenty_faults_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    options = ChaosOptions(**{**SHORT.__dict__, "folder": tmp_path / "chaos"})
    try:
        result: ChaosResult = await run_chaos(options, said.append)
    except InfraError as error:
        cannot_start("the chaos suite's cluster and services", error)
        raise
    summary = "\n".join(summary_lines(result))
    (tmp_path / "summary.txt").write_text(summary)
    kinds = {row.kind for row in result.kinds}
    assert len(result.outcomes) >= 20 and kinds >= {"kill_worker", "kill_api", "kill_controller", "pause"}, summary
    assert result.placed - result.refused > 0, summary
    assert result.verdict.lost == 0, summary + "\n" + "\n".join(said[-40:])
    assert result.verdict.duplicated == 0, summary
    assert result.verdict.dead_letters == [], summary
    assert result.recovered_all, summary
