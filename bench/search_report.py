"""Tables, verdicts and the bench/RESULTS.md section of the search benchmark."""

import os
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Targets (issue #16), on PostgreSQL with 1,000,000 listings on a 2-core machine: scenario name (or its
# prefix) -> (p99 at most, ms; API/baseline throughput at least, or None).
TARGETS = {
    "filter_sort": (25.0, 0.7),
    "text_": (25.0, 0.7),
    "deep_cursor": (25.0, 0.7),
    "window": (50.0, None),
    "near_city": (50.0, None),
}


def target_of(name: str) -> tuple[float, float | None] | None:
    """The targets of a scenario, if it has any."""
    return next((t for prefix, t in TARGETS.items() if name.startswith(prefix)), None)


def nproc() -> int:
    """CPUs this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0))


def plans_text(plans: list[tuple[str, str, str]]) -> str:
    """The query plans, indented, each under its verdict."""
    out = ["query plans:"]
    for title, _sql, plan in plans:
        out.append(f"  {title}")
        out += [f"      {line}" for line in plan.splitlines()]
    return "\n".join(out)


@dataclass
class Report:
    """Everything one run measured, and how to present it."""

    args: object
    machine: dict[str, str]
    scenarios: list
    plans: list[tuple[str, str, str]]
    plans_ok: bool

    def rows(self) -> list[list[str]]:
        """One row of figures per scenario."""
        out = []
        for s in self.scenarios:
            a, b = s.api, s.baseline
            light = [f"{r.p50_ms:.2f} / {r.p99_ms:.2f}" if r else "–" for r in (s.api_light, s.baseline_light)]
            out.append([s.label, s.matches, f"{a.p50_ms:.2f}", f"{a.p99_ms:.2f}", f"{a.rps:,.0f}",
                        f"{b.p50_ms:.2f}", f"{b.p99_ms:.2f}", f"{b.rps:,.0f}", f"{a.rps / b.rps:.0%}",
                        *light])  # fmt: skip
        return out

    @property
    def header(self) -> tuple[str, ...]:
        light = f"-c{self.args.light_connections} p50 / p99 ms"
        return (*self.HEADER, f"API {light}", f"base {light}")

    HEADER = ("scenario", "matches", "API p50 ms", "API p99 ms", "API req/s",
              "base p50 ms", "base p99 ms", "base req/s", "API/base")  # fmt: skip

    CPU_HEADER = ("scenario", "API server", "API database", "base server", "base database",
                  "others (API run)", "others (base run)")  # fmt: skip

    def cpu_rows(self) -> list[list[str]]:
        """CPU milliseconds per request of each side, and the cores that other processes took meanwhile."""
        # SQLite works inside the server's processes: its CPU is part of the server's.
        db = (lambda r: f"{r.db_cpu_ms:.2f}") if self.args.backend == "postgresql" else (lambda r: "in server")
        return [[s.label, f"{s.api.server_cpu_ms:.2f}", db(s.api), f"{s.baseline.server_cpu_ms:.2f}",
                 db(s.baseline), f"{s.api.other_cores:.2f}", f"{s.baseline.other_cores:.2f}"]
                for s in self.scenarios]  # fmt: skip

    def table(self) -> str:
        """Plain-text tables for the terminal."""
        return (
            _text_table(self.header, self.rows())
            + "\n\nCPU ms per request\n"
            + _text_table(self.CPU_HEADER, self.cpu_rows())
        )

    def markdown_table(self) -> str:
        """The same tables in Markdown."""
        return (
            _markdown_table(self.header, self.rows())
            + "\n\nCPU milliseconds per request (from /proc; `others` = cores used by processes outside the "
            "benchmark during the run):\n\n" + _markdown_table(self.CPU_HEADER, self.cpu_rows())
        )

    def verdicts(self) -> str:
        """Targets met or missed; they are set for PostgreSQL only, the other lines hold everywhere."""
        errors = sum(s.api.errors + s.baseline.errors for s in self.scenarios)
        replaced = sum(s.replaced for s in self.scenarios)
        where = "" if self.args.backend == "postgresql" else " (targets are set for PostgreSQL)"
        lines = []
        for s in self.scenarios:
            target = target_of(s.name)
            if target is None:
                lines.append(f"- {s.label}: p99 {s.api.p99_ms:.1f} ms, {s.api.rps / s.baseline.rps:.0%} of the "
                             "baseline (no target)")  # fmt: skip
                continue
            p99, ratio = target
            # Latency is judged where requests do not queue for the 2 cores (the light run), throughput at
            # full load; without a light run, on the full-load run's p99.
            latency = s.api_light or s.api
            at = f" at -c{self.args.light_connections}" if s.api_light else f" at -c{self.args.connections}"
            met = latency.p99_ms <= p99 and (ratio is None or s.api.rps / s.baseline.rps >= ratio)
            wanted = f"p99 ≤ {p99:.0f} ms" + (f", ≥ {ratio:.0%} of the baseline" if ratio else "")
            lines.append(f"- {s.label}: p99 {latency.p99_ms:.1f} ms{at}, {s.api.rps / s.baseline.rps:.0%} of the "
                         f"baseline's req/s at -c{self.args.connections} (target {wanted}): "
                         f"{'met' if met else 'MISSED'}{where}")  # fmt: skip
        lines += [
            "- query plans: "
            + (
                "every benchmarked statement reads a bounded part of the listing table; counts are capped"
                if self.plans_ok
                else "a benchmarked statement reads too much of the table, or a count is not capped (see the plans)"
            ),  # fmt: skip
            f"- failed requests (socket errors, non-2xx): {errors}",
            f"- gunicorn workers replaced during measured runs (servers run with --max-requests 0): {replaced}",
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        """This run's section of bench/RESULTS.md."""
        a = self.args
        backend = "PostgreSQL" if a.backend == "postgresql" else "SQLite"
        command = f".venv/bin/python bench/search.py --backend {a.backend} --rows {a.rows}"
        options = {name: getattr(a, name) for name in _DEFAULTS}
        extra = [f"--{k.replace('_', '-')} {shlex.quote(str(v))}" for k, v in options.items() if v != _DEFAULTS[k]]
        plans = "\n\n".join(_plan_markdown(title, sql, plan) for title, sql, plan in self.plans)
        parts = [
            f"## Search, {backend}, {a.rows:,} listings",
            "",
            f"- command: `{' '.join([command, *extra])}`",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: nproc {nproc()}; {self.machine['cpus']}; {self.machine['database']}; "
            f"Python {self.machine['python']}; gunicorn {self.machine['gunicorn']}",
            f"- app: the working tree at migration {self.machine['schema']} (other work on the node continues; "
            "figures are of the code as it stood)",
            f"- load: `wrk -t{a.threads} -c{a.connections} -d{a.seconds}s --latency` after a {a.warmup} s warm-up, "
            f"per scenario and server, alternating, best of {a.rounds} rounds (by req/s), each after waiting for "
            "the rest of the machine to go quiet; wrk runs on the same machine. At that load requests queue for "
            "the 2 cores, so p50 and p99 there are mostly waiting (Little's law: connections / req/s); latency is "
            f"measured again with `wrk -t1 -c{a.light_connections}` (about one request per core, no queue), "
            "and the p99 targets are judged on that run, the throughput targets on the full-load one",
            "- API = `GET /api/v1/listings?…` of the node; base = bench/baseline_app.py running the statements "
            "the node sent for the same search (page + capped count), captured from the app, on a plain connection",
            "",
            self.markdown_table(),
            "",
            self.verdicts(),
            "",
            "<details><summary>Query plans of the benchmarked statements</summary>",
            "",
            plans,
            "",
            "</details>",
        ]
        return "\n".join(parts)


def _text_table(header: tuple[str, ...], body: list[list[str]]) -> str:
    rows = [list(header), *body]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(header: tuple[str, ...], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


_DEFAULTS = {
    "seconds": 12,
    "warmup": 2,
    "rounds": 2,
    "connections": 16,
    "light_connections": 2,
    "threads": 2,
    "quiet_wait": 60,
    "pg_url": "postgresql://postgres@127.0.0.1/bench",
    "only": None,
}


def _plan_markdown(title: str, sql: str, plan: str) -> str:
    """One statement and its plan as indented code under its verdict."""
    body = "\n".join(f"    {line}" for line in plan.splitlines())
    return f"{title}\n\n    {' '.join(sql.split())}\n\n{body}"


def write_results(path: Path, report: Report) -> None:
    """Replace this backend's section of RESULTS.md (between its markers), or append it."""
    start, end = f"<!-- search:{report.args.backend} -->", f"<!-- /search:{report.args.backend} -->"
    section = f"{start}\n{report.markdown()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
