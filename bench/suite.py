"""The benchmark suite: every scenario in one run against the same real broker and PostgreSQL, then one table.

    hotline bench                                   # every scenario at size small (< 10 minutes here)
    hotline bench --scenario pipeline --scenario ceiling --size full --out bench/results
    python -m bench --scenario intake-http

Scenarios: `ceiling` (raw aiokafka produce→consume, bench/kafka_ceiling.py), `pipeline` (TicketReceived →
dispatch worker → TicketDispatched → SLA monitor timers, bench/pipeline.py), `intake-http` (create-ticket
requests through intake's HTTP API, bench/intake_create.py), `sla-scale` (detection lag, memory per timer
and recovery with N open timers, bench/sla_scale.py), `callback` (scheduling and claiming,
bench/callback_throughput.py). The servers come from hotline.infra.harness like the tests' (an address in
KAFKA_BOOTSTRAP / DATABASE_URL wins). Each scenario prints its JSON document and a human summary on
stdout, with the load average before and after it; its JSON goes to --out too, with suite.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
Size = Literal["small", "full"]
SCENARIOS = ("ceiling", "pipeline", "intake-http", "sla-scale", "callback")


@dataclass(frozen=True)
class Servers:
    bootstrap: str
    server_url: str  # PostgreSQL URL of an existing database; scenarios create their own databases beside it


def log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    from hotline.infra.kafka import KAFKA_VERSION

    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "platform": platform.platform(),
    }


def commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_script(
    module: str, args: list[str], env: dict[str, str], timeout: float, log_path: Path, partial_prefix: str | None = None
) -> dict[str, Any]:
    """Run one of the existing benchmark scripts as its own process and take the JSON document it prints.

    The script runs in a process group of its own: at `timeout` the whole group (the script and the
    service processes it started) is killed, the topics those processes were given are deleted, and
    the results the script had logged so far (`partial_prefix` lines of JSON on stderr) are kept.
    """
    with log_path.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            leftovers = _topics_of_group(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            _delete_topics(env.get("KAFKA_BOOTSTRAP"), leftovers)
            partial = _partial_results(log_path, partial_prefix)
            if partial:
                return {"partial": True, "stopped_after_s": timeout, "results": partial}
            raise RuntimeError(f"{module} did not finish within {timeout} s") from None
    text = out.decode(errors="replace")
    start = text.find("{")
    if process.returncode != 0 or start < 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{module} exited {process.returncode}:\n{tail}")
    document: dict[str, Any] = json.loads(text[start:])
    return document


def _partial_results(log_path: Path, prefix: str | None) -> list[Any]:
    if prefix is None:
        return []
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith(prefix + "{"):
            try:
                found.append(json.loads(line[len(prefix) :]))
            except ValueError:
                continue
    return found


def _topics_of_group(pgid: int) -> set[str]:
    """Topic names given (by environment) to the service processes of a benchmark's process group."""
    topics: set[str] = set()
    prefixes = ("HOTLINE_SLA_", "HOTLINE_DISPATCH_TOPIC_")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ProcessLookupError):
            continue
        for item in environ:
            name, _, value = item.decode(errors="replace").partition("=")
            if name.startswith(prefixes) and name.endswith(("_TOPIC", "_TICKETS", "_NOTIFICATIONS")) and value:
                topics.add(value)
            if name == "HOTLINE_SLA_APP_ID" and value:
                topics.add(value + "-*")  # Faust's changelog and leader topics
    return topics


def _delete_topics(bootstrap: str | None, names: set[str]) -> None:
    if not bootstrap or not names:
        return

    async def delete() -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            present = await admin.list_topics()
            prefixes = tuple(n[:-1] for n in names if n.endswith("*"))
            doomed = [t for t in present if t in names or (prefixes and t.startswith(prefixes))]
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()

    try:
        asyncio.run(delete())
    except Exception as error:  # the figures matter more than the clean-up
        log(f"could not delete leftover topics {sorted(names)}: {error}")


# --------------------------------------------------------------------------- scenarios


def ceiling(servers: Servers, size: Size, out: Path) -> dict[str, Any]:
    from bench.kafka_ceiling import measure_ceiling

    messages = 50_000 if size == "small" else 300_000
    return asyncio.run(
        measure_ceiling(servers.bootstrap, value_sizes=(200, 1024), messages=messages, time_limit=15.0, partitions=6)
    )


def pipeline(servers: Servers, size: Size, out: Path) -> dict[str, Any]:
    from bench.pipeline import measure_pipeline

    seconds, burst = (15.0, 5_000) if size == "small" else (60.0, 50_000)
    return asyncio.run(
        measure_pipeline(
            servers.bootstrap, servers.server_url, rate=1000.0, seconds=seconds, burst=burst, time_limit=120.0
        )
    )


def intake_http(servers: Servers, size: Size, out: Path) -> dict[str, Any]:
    tickets = 3000 if size == "small" else 20_000
    args = ["--tickets", str(tickets), "--concurrency", "16", "--max-seconds", "60" if size == "small" else "300"]
    env = {"DATABASE_URL": servers.server_url}
    return run_script("bench.intake_create", args, env, 600, out / "intake-http.log")


def sla_scale(servers: Servers, size: Size, out: Path) -> dict[str, Any]:
    # small keeps the whole suite within 10 minutes here: 100k is reported only if it finishes in time;
    # full must take the 1M timers to the end within 30 minutes (issue 20), else it reports what it finished
    sizes, budget = (["10000", "100000"], 300.0) if size == "small" else (["10000", "100000", "1000000"], 1800.0)
    args = ["--sizes", *sizes, "--probes", "1000", "--bootstrap", servers.bootstrap]
    env = {"KAFKA_BOOTSTRAP": servers.bootstrap}
    return run_script("bench.sla_scale", args, env, budget, out / "sla-scale.log", partial_prefix="[sla_scale] ")


def callback(servers: Servers, size: Size, out: Path) -> dict[str, Any]:
    tickets = "2000" if size == "small" else "10000"
    args = ["--tickets", tickets, "--claimers", "8", "--max-seconds", "60"]
    return run_script(
        "bench.callback_throughput", args, {"DATABASE_URL": servers.server_url}, 600, out / "callback.log"
    )


RUNNERS: dict[str, Callable[[Servers, Size, Path], dict[str, Any]]] = {
    "ceiling": ceiling,
    "pipeline": pipeline,
    "intake-http": intake_http,
    "sla-scale": sla_scale,
    "callback": callback,
}


# --------------------------------------------------------------------------- summaries


def _get(document: Any, *path: Any) -> Any:
    for step in path:
        if isinstance(document, dict):
            document = document.get(step)
        elif isinstance(document, list) and isinstance(step, int) and -len(document) <= step < len(document):
            document = document[step]
        else:
            return None
    return document


def _ceiling_1kb(ceiling_doc: dict[str, Any] | None) -> float | None:
    for result in (ceiling_doc or {}).get("results", []):
        if result["value_bytes"] == 1024:
            return float(result["flat_out"]["msgs_per_s"])
    return None


def headline(name: str, document: dict[str, Any], ceiling_doc: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(figure, value) rows of one scenario for the summary table."""
    rows: list[tuple[str, str]] = []
    if name == "ceiling":
        for result in document.get("results", []):
            flat = result["flat_out"]
            rows.append(
                (
                    f"{result['value_bytes']} B flat out",
                    f"{flat['msgs_per_s']:,.0f} msg/s, "
                    f"p50 {flat['latency_ms_p50']} ms, p99 {flat['latency_ms_p99']} ms",
                )
            )
            paced = next((v for k, v in result.items() if k.startswith("paced_")), None)
            if paced:
                rows.append(
                    (
                        f"{result['value_bytes']} B paced",
                        f"p50 {paced['latency_ms_p50']} ms, p99 {paced['latency_ms_p99']} ms",
                    )
                )
    elif name == "pipeline":
        ceiling_rate = _ceiling_1kb(ceiling_doc)
        for phase in ("paced", "burst"):
            p = _get(document, "results", phase)
            if not p:
                continue
            d, t = p["received_to_dispatched"], p["received_to_timers_started"]
            ratio = (
                f", {100 * p['dispatched_per_s'] / ceiling_rate:.1f} % of the 1 KB ceiling"
                if ceiling_rate and p.get("dispatched_per_s")
                else ""
            )
            rows.append(
                (
                    f"{phase} ({p['rate_per_s']}/s, {p['tickets']})",
                    f"dispatched {p['dispatched_per_s']}/s p50 {d['p50_ms']} ms p99 {d['p99_ms']} ms{ratio}",
                )
            )
            rows.append(
                (
                    f"{phase}: SLA timers started",
                    f"{p['timed_per_s']}/s p50 {t['p50_ms']} ms p99 {t['p99_ms']} ms"
                    + ("" if p["complete"] else " (INCOMPLETE)"),
                )
            )
    elif name == "intake-http":
        latency = document.get("latency_ms", {})
        rows.append(
            (
                f"creates, {document.get('concurrency')} clients",
                f"{document.get('requests_per_second')}/s p50 {latency.get('p50')} ms p99 {latency.get('p99')} ms"
                + (f" failed {document['failed']}" if document.get("failed") else ""),
            )
        )
    elif name == "sla-scale":
        if document.get("partial"):
            rows.append(("partial", f"stopped after {document.get('stopped_after_s')} s: later sizes missing"))
        ceiling_rate = _ceiling_1kb(ceiling_doc) or document.get("ceiling_1kb_msgs_per_s")
        for result in document.get("results", []):
            lag = result.get("detection_lag", {})
            memory = result.get("memory", {})
            kept = result.get("recovery_kept_state", {}).get("seconds_to_first_breach_after_restart")
            wiped = result.get("recovery_wiped_state", {}).get("seconds_to_first_breach_after_restart")
            rate = _get(result, "load", "timers_per_s")
            ratio = f" ({100 * rate / ceiling_rate:.1f} % of the 1 KB ceiling)" if ceiling_rate and rate else ""
            loads = _get(result, "load", "load_avg")
            changelog = result.get("changelog", {})
            rows.append(
                (
                    f"{result.get('open_timers'):,} open timers",
                    f"lag p50 {lag.get('p50_s')} s p99 {lag.get('p99_s')} s; "
                    f"{memory.get('bytes_per_timer')} B/timer; load {rate}/s{ratio}"
                    + (f" at load avg {loads[0]}→{loads[1]}" if loads else "")
                    + (
                        f"; changelog {changelog['messages_per_ticket']} msg, {changelog['bytes_per_ticket']} B/ticket"
                        if changelog
                        else ""
                    )
                    + f"; recovery kept {kept} s, wiped {wiped} s",
                )
            )
    elif name == "callback":
        s, c = document.get("scheduling", {}), document.get("claiming", {})
        rows.append(("scheduling", f"{s.get('tasks_per_second')} tasks/s ({s.get('events_per_second')} events/s)"))
        rows.append(
            (
                f"claiming, {c.get('claimers')} agents",
                f"{c.get('claims_per_second')} claims/s, {c.get('lost_races')} lost races, "
                f"{c.get('duplicates')} duplicates",
            )
        )
    return rows


def table(entries: list[dict[str, Any]]) -> str:
    lines = ["| scenario | figure | value | seconds | load before → after |", "|---|---|---|---|---|"]
    for entry in entries:
        load = f"{entry['load_before'][0]} → {entry['load_after'][0]}"
        if entry.get("error"):
            lines.append(
                f"| {entry['scenario']} | FAILED | {entry['error'].splitlines()[0][:100]} | "
                f"{entry['seconds']} | {load} |"
            )
            continue
        for figure, value in entry["rows"]:
            lines.append(f"| {entry['scenario']} | {figure} | {value} | {entry['seconds']} | {load} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


def run_suite(scenarios: list[str], size: Size, out: Path, servers: Servers | None = None) -> dict[str, Any]:
    """Run the scenarios in order (the ceiling first when chosen: the pipeline's ratio needs it)."""
    from hotline.infra.harness import server_for_session
    from hotline.infra.postgres import TEST_DATABASE
    from hotline.infra.settings import InfraSettings

    unknown = [s for s in scenarios if s not in RUNNERS]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    chosen = [s for s in SCENARIOS if s in scenarios] if scenarios else list(SCENARIOS)
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "size": size,
        "machine": machine(),
        "scenarios": [],
    }
    with contextlib.ExitStack() as stack:
        if servers is None:  # the harness's servers, held for the whole run
            settings = InfraSettings()
            bootstrap = stack.enter_context(server_for_session("kafka", settings))
            server_url = stack.enter_context(server_for_session("postgres", settings, database=TEST_DATABASE))
            servers = Servers(bootstrap, server_url)
        live = servers
        documents: dict[str, dict[str, Any]] = {}
        for name in chosen:
            log(f"{name} ({size}) ... load {load_average()}")
            entry: dict[str, Any] = {"scenario": name, "load_before": load_average()}
            started = time.monotonic()
            try:
                document = RUNNERS[name](live, size, out)
                documents[name] = document
                entry["rows"] = headline(name, document, documents.get("ceiling"))
                (out / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
            except Exception as error:  # one failed scenario must not hide the others' figures
                document = {"error": f"{type(error).__name__}: {error}"}
                entry["error"] = document["error"]
                entry["rows"] = []
            entry["seconds"] = round(time.monotonic() - started, 1)
            entry["load_after"] = load_average()
            entry["result"] = document
            report["scenarios"].append(entry)
            sys.stdout.write(
                f"\n=== {name} ({entry['seconds']} s, load {entry['load_before']} → {entry['load_after']})\n"
            )
            sys.stdout.write(json.dumps(document, indent=2) + "\n")
            for figure, value in entry["rows"]:
                sys.stdout.write(f"  {figure}: {value}\n")
            if entry.get("error"):
                sys.stdout.write(f"  FAILED: {entry['error']}\n")
            sys.stdout.flush()
    report["seconds"] = round(time.monotonic() - began, 1)
    report["table"] = table(report["scenarios"])
    (out / "suite.json").write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(
        f"\n## {report['date']} commit {report['commit']} size {size}, {report['seconds']} s; "
        f"{report['machine']['nproc']} cores, {report['machine']['memory_gib']} GiB, Python "
        f"{report['machine']['python']}, Kafka {report['machine']['kafka']}\n\n{report['table']}\n"
    )
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", action="append", default=[], choices=SCENARIOS)
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    report = run_suite(args.scenario, args.size, args.out)
    return 1 if any(entry.get("error") for entry in report["scenarios"]) else 0
