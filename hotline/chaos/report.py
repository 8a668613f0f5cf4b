"""The run's summary: load held, faults by kind with recovery p50/max, lost and duplicated counts."""

from __future__ import annotations

from hotline.chaos.checks import Verdict
from hotline.chaos.run import ChaosResult


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def summary_lines(result: ChaosResult) -> list[str]:
    verdict = result.verdict
    requests = sum(result.statuses.values())
    lines = [
        f"load held: {result.placed} calls placed "
        f"({result.placed - result.refused} accepted, {result.refused} refused), "
        f"{requests} API requests over {result.fault_seconds:.0f} s of faults "
        f"(HTTP {dict(sorted(result.statuses.items()))}); {result.processes} service processes on a 3-broker cluster",
        f"faults injected: {len(result.outcomes)} in {result.fault_seconds:.0f} s "
        f"(start-up {result.startup_seconds:.0f} s, whole run {result.total_seconds:.0f} s)",
        f"  {'kind':<17} {'injected':>8} {'recovered':>9} {'p50':>8} {'max':>8}",
    ]
    for row in result.kinds:
        lines.append(
            f"  {row.kind:<17} {row.injected:>8} {row.recovered:>9} {_seconds(row.p50):>8} {_seconds(row.most):>8}"
        )
    lines += [
        f"work orders: {verdict.accepted} accepted, {verdict.work_orders} to dispatch; "
        f"not received {len(verdict.not_received)}, not dispatched {len(verdict.not_dispatched)}, "
        f"not timed {len(verdict.not_timed)}",
        f"callbacks: {verdict.callbacks_due} due, lost {len(verdict.lost_callbacks)}",
        *_outbound_lines(verdict),
        f"lost: {verdict.lost}   duplicated side effects: {verdict.duplicated} {verdict.duplicates or ''}".rstrip(),
        f"redeliveries (same event_id, dropped by consumers): {verdict.redelivered or 'none'}",
        f"dead letters: {len(verdict.dead_letters)}",
        f"load average: {result.load_before[0]:.2f} at the start, "
        f"{result.load[0]:.2f} {result.load[1]:.2f} {result.load[2]:.2f} (1/5/15 min) at the end, on {_cpus()} CPUs",
    ]
    for example in [*verdict.duplicate_examples, *verdict.dead_letters][:10]:
        lines.append(f"  ! {example}")
    for name, ids in (
        ("not received", verdict.not_received),
        ("not dispatched", verdict.not_dispatched),
        ("not timed", verdict.not_timed),
        ("lost callback", verdict.lost_callbacks),
        ("SMS never sent", verdict.outbound.sms_lost if verdict.outbound else []),
        ("webhook never delivered", verdict.outbound.webhooks_lost if verdict.outbound else []),
    ):
        if ids:
            lines.append(f"  ! {name}: {', '.join(ids[:5])}{' …' if len(ids) > 5 else ''}")
    for outcome in result.outcomes:
        if outcome.recovery is None:
            lines.append(f"  ! {outcome.fault.kind} {outcome.fault.target} did not recover: {outcome.note}")
    lines.append("RESULT: " + ("PASS (0 lost, 0 duplicated)" if result.ok else "FAIL"))
    return lines


def _outbound_lines(verdict: Verdict) -> list[str]:
    out = verdict.outbound
    if out is None:
        return []
    return [
        f"SMS: {out.notices} status notices queued ({out.notices_due} due), {out.sms_received} at Kannel's SMSC; "
        f"duplicated {out.sms_duplicates}, lost {len(out.sms_lost)}",
        f"webhooks: {out.webhooks_due} events subscribed, {out.webhook_deliveries} delivered "
        f"({out.webhook_redeliveries} redelivered under the same id); "
        f"duplicated {out.webhook_duplicates}, lost {len(out.webhooks_lost)}",
    ]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
