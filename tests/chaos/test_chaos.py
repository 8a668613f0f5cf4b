"""The short fault-injection run (issue 14): 20 faults of every kind on a private three-broker cluster under the
simulator's traffic; nothing accepted may be lost and no side effect may happen twice.

Run by `make test` (its last step) and `make chaos`; `make chaos-long` (`hotline chaos --faults 100`) is the long run
(docs/operations/chaos.md). A cluster, database, Kannel or service that cannot start is a failure, never a skip:
this run is the only proof of what it checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.chaos.report import summary_lines
from hotline.chaos.run import ChaosOptions, ChaosResult, run_chaos
from hotline.infra.process import InfraError

SHORT = ChaosOptions(faults=20, calls=40, gap=6.0, pause=30.0, settle=150.0)


@pytest.mark.chaos
async def test_twenty_faults_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    options = ChaosOptions(**{**SHORT.__dict__, "folder": tmp_path / "chaos"})
    try:
        result: ChaosResult = await run_chaos(options, said.append)
    except InfraError as error:
        pytest.fail(f"the chaos suite's cluster and services could not be started: {error}", pytrace=False)
    summary = "\n".join(summary_lines(result))
    (tmp_path / "summary.txt").write_text(summary)
    kinds = {row.kind for row in result.kinds}
    assert len(result.outcomes) >= 20 and kinds >= {"kill_worker", "kill_api", "kill_controller", "pause"}, summary
    assert result.placed - result.refused > 0, summary
    outbound = result.verdict.outbound
    assert outbound is not None and outbound.sms_received > 0 and outbound.webhook_deliveries > 0, summary
    assert result.verdict.lost == 0, summary + "\n" + "\n".join(said[-40:])
    assert result.verdict.duplicated == 0, summary
    assert result.verdict.dead_letters == [], summary
    assert result.recovered_all, summary
