#!/usr/bin/env python3
"""Prints the performance table from Google Benchmark JSON files: Troupe and CAF side by side.

    table.py troupe_bench.json troupe_real_bench.json troupe_caf_bench.json [--git REV]

Each file is one benchmark binary's `--benchmark_out` (run with repetitions and
`--benchmark_report_aggregates_only`); the table takes the `median` aggregate of every row it
knows (with one repetition, which has no aggregates, its only result). A row whose benchmark is
missing from the files (filtered out, or its binary not run) prints "not run"; a row the files
know nothing about is not invented. The rows, their units and
the issue's targets are the ROWS list below: that list is the one place the suite's table is
defined. Output is Markdown, so it pastes into docs/performance.md as it is.

Exit status: 0 when the table printed (targets missed are shown in the table, they are not
errors), 2 on a missing or malformed file.
"""

import json
import platform
import re
import sys

# One row of the table.
#   label     what is measured
#   troupe    (benchmark, value) for Troupe. The benchmark is a run name without Google Benchmark's
#             run options ("/manual_time", "/iterations:1"), or a family name without its
#             arguments when the file holds one run of that family. The value is a counter name,
#             or "real_time" / "cpu_time" (converted to the row's unit)
#   caf       the same for CAF, or None when CAF has no equivalent
#   unit      "calls/s"-style throughput (higher is better) or a time/size (lower is better)
#   better    "higher" or "lower"
#   target    (comparison, value, text) checked against Troupe's figure, or None. A comparison of
#             "caf_ratio" means Troupe must be at least `value` times CAF's figure.
ROWS = [
    ("Simulator (one core; CPU time)", None),
    ("fiber switch (resume + suspend)", dict(troupe=("BM_FiberSwitch", "cpu_time"), unit="ns", better="lower")),
    ("synchronous calls", dict(troupe=("BM_SimSyncCalls/10000", "items_per_second"), unit="calls/s",
                               better="higher", target=(">=", 2_000_000, ">= 2 M/s"))),
    ("pipelined calls", dict(troupe=("BM_SimPipelinedCalls/1000/10", "items_per_second"), unit="calls/s",
                             better="higher")),
    ("whole runs (spawn, 10 calls, teardown)", dict(troupe=("BM_SimSeedsPerSecond", "items_per_second"),
                                                   unit="runs/s", better="higher")),
    ("`counter` seeds, no faults", dict(troupe=("BM_CounterSeeds/0", "items_per_second"), unit="seeds/s",
                                        better="higher")),
    ("`counter` seeds, swarm faults", dict(troupe=("BM_CounterSeeds/1", "items_per_second"), unit="seeds/s",
                                           better="higher", target=(">=", 2_000, ">= 2,000/s"))),
    ("simulated-to-wall time, latency-bound run (per CPU second)", dict(troupe=("BM_SimToWall", "sim_per_cpu"), unit="x",
                                                     better="higher")),
    ("memory per idle actor", dict(troupe=("BM_MemoryPerIdleActor", "bytes_per_actor"), unit="bytes",
                                   better="lower")),
    ("memory per running call", dict(troupe=("BM_MemoryPerRunningCall", "bytes_per_call"), unit="bytes",
                                     better="lower")),
    ("100,000 actors on 1,000 nodes: peak memory", dict(troupe=("BM_Scale100kActors1000Nodes/100000/1000", "peak_bytes"),
                                                       unit="bytes", better="lower",
                                                       target=("<", 2 * 1024**3, "< 2 GiB"))),
    ("100,000 actors on 1,000 nodes: wall time", dict(troupe=("BM_Scale100kActors1000Nodes/100000/1000", "seconds"),
                                                     unit="s", better="lower")),
    ("Threads platform vs CAF (one process, wall time)", None),
    ("synchronous call latency (mean)", dict(troupe=("BM_ThreadsCalls/10000/0", "us_per_call"),
                                      caf=("BM_CafCalls/10000/0", "us_per_call"), unit="µs", better="lower",
                                      target=("<=", 10, "<= 10 µs"))),
    ("pipelined calls", dict(troupe=("BM_ThreadsCalls/100000/1", "items_per_second"),
                             caf=("BM_CafCalls/100000/1", "items_per_second"), unit="calls/s", better="higher",
                             target=("caf_ratio", 1.5, ">= 1.5x CAF"))),
    ("synchronous call latency (mean), CAF from a blocking scoped_actor",
     dict(troupe=("BM_ThreadsCalls/10000/0", "us_per_call"), caf=("BM_CafCallsBlocking/10000/0", "us_per_call"),
          unit="µs", better="lower")),
    ("pipelined calls, CAF from a blocking scoped_actor",
     dict(troupe=("BM_ThreadsCalls/100000/1", "items_per_second"),
          caf=("BM_CafCallsBlocking/100000/1", "items_per_second"), unit="calls/s", better="higher")),
    ("Savina: ping-pong", dict(troupe=("BM_PingPong", "real_time"), caf=("BM_PingPong", "real_time"),
                               unit="ms", better="lower")),
    ("Savina: counting", dict(troupe=("BM_Counting", "real_time"), caf=("BM_Counting", "real_time"),
                              unit="ms", better="lower")),
    ("Savina: thread ring", dict(troupe=("BM_ThreadRing", "real_time"), caf=("BM_ThreadRing", "real_time"),
                                 unit="ms", better="lower")),
    ("Savina: fork-join throughput", dict(troupe=("BM_ForkJoin", "real_time"), caf=("BM_ForkJoin", "real_time"),
                                          unit="ms", better="lower")),
    ("Savina: chameneos", dict(troupe=("BM_Chameneos", "real_time"), caf=("BM_Chameneos", "real_time"),
                               unit="ms", better="lower")),
    ("Cluster platform on loopback (separate processes, wall time)", None),
    ("synchronous call latency (median call)", dict(troupe=("BM_ClusterCalls/2000/0", "us_median"), unit="µs",
                                                    better="lower", target=("<=", 50, "<= 50 µs median"))),
    ("synchronous call latency (90th percentile)", dict(troupe=("BM_ClusterCalls/2000/0", "us_p90"), unit="µs",
                                                        better="lower")),
    ("synchronous call latency (mean)", dict(troupe=("BM_ClusterCalls/2000/0", "us_per_call"), unit="µs",
                                             better="lower")),
    ("pipelined calls", dict(troupe=("BM_ClusterCalls/20000/1", "items_per_second"), unit="calls/s",
                             better="higher", target=(">=", 200_000, ">= 200 k/s"))),
]

# Google Benchmark appends run options to a run's name ("BM_X/10/manual_time",
# "BM_Y/iterations:1/real_time"); rows name benchmarks without them.
RUN_OPTION = re.compile(r"/(manual_time|real_time|process_time|iterations:\d+|repeats:\d+|threads:\d+|min_time:[^/]+)")

TIME_SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
UNIT_SCALE = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def die(message):
    print(f"table.py: {message}", file=sys.stderr)
    sys.exit(2)


def load(paths):
    """Median aggregates by binary: {binary: {run_name: entry}}, plus each file's context."""
    medians, contexts = {}, {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            die(f"cannot read {path}: {error}")
        if "benchmarks" not in data or "context" not in data:
            die(f"{path} is not Google Benchmark JSON output (no 'benchmarks' or 'context')")
        binary = data["context"].get("executable", path).rsplit("/", 1)[-1]
        contexts[binary] = data["context"]
        rows = medians.setdefault(binary, {})
        singles = {}  # run name -> its plain (non-aggregate) results
        for entry in data["benchmarks"]:
            name = RUN_OPTION.sub("", entry["run_name"])
            if entry.get("aggregate_name") == "median" or entry.get("error_occurred"):
                rows[name] = entry
            elif entry.get("run_type", "iteration") == "iteration":
                singles.setdefault(name, []).append(entry)
        # One repetition has no aggregates: its only result stands for the median.
        for name, entries in singles.items():
            if name not in rows and len(entries) == 1:
                rows[name] = entries[0]
    return medians, contexts


def value_of(medians, binaries, source, unit):
    """The row's figure from the first of `binaries` that has the benchmark, or a reason."""
    run_name, field = source
    for binary in binaries:
        runs = medians.get(binary, {})
        entry = runs.get(run_name)
        if entry is None:
            # A family named without its arguments ("BM_PingPong" for "BM_PingPong/100000"),
            # when the file has exactly one run of it.
            family = [e for name, e in runs.items() if name.startswith(run_name + "/")]
            entry = family[0] if len(family) == 1 else None
        if entry is None:
            continue
        if entry.get("error_occurred"):
            return None, f"failed: {entry.get('error_message', '?')}"
        if field in ("real_time", "cpu_time"):
            seconds = entry[field] * TIME_SCALE[entry["time_unit"]]
            return seconds / UNIT_SCALE[unit], None
        if field not in entry:
            return None, f"no counter {field}"
        return float(entry[field]), None
    return None, "not run"


def human(value, unit):
    if unit == "bytes":
        for scale, suffix in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
            if value >= scale:
                return f"{value / scale:.2f} {suffix}"
        return f"{value:.0f} B"
    if unit.endswith("/s"):
        if value >= 1e6:
            return f"{value / 1e6:.2f} M {unit}"
        if value >= 1e3:
            return f"{value / 1e3:.1f} k {unit}"
        return f"{value:.0f} {unit}"
    if unit == "x":
        return f"{value:,.0f}x" if value >= 100 else f"{value:.2f}x"
    return f"{value:.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def versus(troupe, caf, better):
    """'2.1x faster' / '3.0x slower' from Troupe's point of view."""
    if troupe is None or caf is None or troupe <= 0 or caf <= 0:
        return ""
    ratio = troupe / caf if better == "higher" else caf / troupe
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def verdict(target, troupe, caf):
    if target is None:
        return ""
    comparison, bound, text = target
    if troupe is None:
        return f"{text}: not measured"
    if comparison == "caf_ratio":
        if caf is None:
            return f"{text}: no CAF figure"
        met, gap = troupe >= bound * caf, (bound * caf) / troupe
    elif comparison == ">=":
        met, gap = troupe >= bound, bound / troupe
    elif comparison == "<=":
        met, gap = troupe <= bound, troupe / bound
    else:  # "<"
        met, gap = troupe < bound, troupe / bound
    return f"{text}: met" if met else f"{text}: **missed** ({gap:.2f}x short)"


def machine(contexts):
    context = next(iter(contexts.values()), {})
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    loads = ", ".join(f"{binary} {c.get('load_avg', [0])[0]:.2f}" for binary, c in contexts.items())
    return (f"{context.get('date', '?')}; {platform.node()}: {context.get('num_cpus', '?')} cores "
            f"({model or 'unknown CPU'}, {context.get('mhz_per_cpu', '?')} MHz), "
            f"{platform.system()} {platform.release()}; 1-minute load average at each binary's start: {loads}")


def main(argv):
    git = None
    paths = []
    args = iter(argv)
    for arg in args:
        if arg == "--git":
            git = next(args, None) or die("--git needs a revision")
        elif arg.startswith("-"):
            die(f"unknown option {arg} (usage: table.py FILE.json... [--git REV])")
        else:
            paths.append(arg)
    if not paths:
        die("no JSON files given (usage: table.py FILE.json... [--git REV])")
    medians, contexts = load(paths)
    troupe_binaries = [b for b in medians if "caf" not in b]
    caf_binaries = [b for b in medians if "caf" in b]

    print(f"Machine: {machine(contexts)}" + (f"; Troupe at {git}" if git else "") + ".")
    print("Medians of each benchmark's repetitions.\n")
    print("| Workload | Troupe | CAF | Troupe vs CAF | Target |")
    print("| --- | --- | --- | --- | --- |")
    for label, row in ROWS:
        if row is None:
            print(f"| **{label}** | | | | |")
            continue
        unit, better = row["unit"], row["better"]
        troupe, troupe_note = value_of(medians, troupe_binaries, row["troupe"], unit)
        caf, caf_note = (None, "") if row.get("caf") is None else value_of(medians, caf_binaries, row["caf"], unit)
        troupe_text = human(troupe, unit) if troupe is not None else troupe_note
        caf_text = "" if row.get("caf") is None else (human(caf, unit) if caf is not None else caf_note)
        print(f"| {label} | {troupe_text} | {caf_text} | {versus(troupe, caf, better)} | "
              f"{verdict(row.get('target'), troupe, caf)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
