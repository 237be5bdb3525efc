#!/usr/bin/env python3
"""Checks tools/bench/table.py, the suite's table: its arithmetic on made-up medians, its errors on
bad input, and one real (tiny) benchmark run going through it.

    table_test.py TABLE_PY [TROUPE_BENCH]

With TROUPE_BENCH, also runs `troupe_bench --benchmark_filter=BM_FiberSwitch` briefly and checks
the fiber-switch row gets a figure in ns while the rows it did not run say "not run".
"""

import json
import os
import re
import subprocess
import sys
import tempfile


def write_run(directory, executable, medians):
    """A Google Benchmark JSON file with one median aggregate per (run_name, fields)."""
    benchmarks = []
    for run_name, fields in medians:
        entry = {"name": run_name + "_median", "run_name": run_name, "run_type": "aggregate",
                 "aggregate_name": "median", "time_unit": "ms", "real_time": 1.0, "cpu_time": 1.0}
        entry.update(fields)
        benchmarks.append(entry)
    path = os.path.join(directory, executable + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"context": {"executable": "tools/bench/" + executable, "date": "D", "num_cpus": 2,
                               "mhz_per_cpu": 1, "load_avg": [0.5]}, "benchmarks": benchmarks}, f)
    return path


def row(output, label):
    for line in output.splitlines():
        if line.startswith(f"| {label} |"):
            return line
    raise AssertionError(f"no row '{label}' in:\n{output}")


def expect_equal(actual, expected):
    if actual != expected:
        raise AssertionError(f"expected\n  {expected}\ngot\n  {actual}")


def run_table(table, *args):
    return subprocess.run([sys.executable, table, *args], capture_output=True, text=True, check=False)


def fiber_switch_run(bench, directory, repetitions):
    """A brief real run of BM_FiberSwitch alone; returns its JSON file."""
    path = os.path.join(directory, f"fiber_{repetitions}.json")
    subprocess.run([bench, "--benchmark_filter=BM_FiberSwitch$", f"--benchmark_repetitions={repetitions}",
                    "--benchmark_min_time=0.01", "--benchmark_report_aggregates_only=true",
                    f"--benchmark_out={path}", "--benchmark_out_format=json"],
                   check=True, capture_output=True)
    return path


def main():
    table = sys.argv[1]
    bench = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        troupe = write_run(tmp, "troupe_real_bench", [
            ("BM_ThreadsCalls/10000/0/manual_time", {"us_per_call": 4.0}),
            ("BM_ThreadsCalls/100000/1/manual_time", {"items_per_second": 600000.0}),
            ("BM_PingPong/100000/manual_time", {"real_time": 30.0}),
            ("BM_ClusterCalls/2000/0/manual_time", {"us_per_call": 120.0, "us_median": 100.0, "us_p90": 150.0}),
            ("BM_ClusterCalls/20000/1/manual_time", {"error_occurred": True, "error_message": "no head"}),
        ])
        caf = write_run(tmp, "troupe_caf_bench", [
            ("BM_CafCalls/10000/0/manual_time", {"us_per_call": 8.0}),
            ("BM_CafCalls/100000/1/manual_time", {"items_per_second": 500000.0}),
            ("BM_PingPong/100000/manual_time", {"real_time": 60.0}),
            ("BM_Counting/10/manual_time", {"real_time": 1.0}),
            ("BM_Counting/20/manual_time", {"real_time": 2.0}),
        ])
        sim = write_run(tmp, "troupe_bench", [
            ("BM_SimSyncCalls/10000", {"items_per_second": 500000.0}),
            ("BM_Scale100kActors1000Nodes/100000/1000/iterations:1", {"peak_bytes": 1.5 * 1024**3}),
            ("BM_Scale100kActors1000Nodes/10000/100/iterations:1", {"peak_bytes": 0.1 * 1024**3}),
        ])
        done = run_table(table, sim, troupe, caf, "--git", "abc")
        if done.returncode != 0:
            raise AssertionError(f"table.py failed: {done.stderr}")
        out = done.stdout
        expect_equal(row(out, "synchronous call latency (mean)"),
                     "| synchronous call latency (mean) | 4 µs | 8 µs | 2.00x faster | <= 10 µs: met |")
        expect_equal(row(out, "pipelined calls"),
                     "| pipelined calls | not run |  |  |  |")  # the simulator's row comes first
        assert "| pipelined calls | 600.0 k calls/s | 500.0 k calls/s | 1.20x faster | "\
               ">= 1.5x CAF: **missed** (1.25x short) |" in out, out
        expect_equal(row(out, "Savina: ping-pong"), "| Savina: ping-pong | 30 ms | 60 ms | 2.00x faster |  |")
        # Two runs of one family: the row cannot tell which one it means.
        expect_equal(row(out, "Savina: counting"), "| Savina: counting | not run | not run |  |  |")
        expect_equal(row(out, "synchronous calls"),
                     "| synchronous calls | 500.0 k calls/s |  |  | >= 2 M/s: **missed** (4.00x short) |")
        expect_equal(row(out, "100,000 actors on 1,000 nodes: peak memory"),
                     "| 100,000 actors on 1,000 nodes: peak memory | 1.50 GiB |  |  | < 2 GiB: met |")
        expect_equal(row(out, "synchronous call latency (median call)"),
                     "| synchronous call latency (median call) | 100 µs |  |  | <= 50 µs median: **missed** (2.00x short) |")
        expect_equal(row(out, "synchronous call latency (90th percentile)"),
                     "| synchronous call latency (90th percentile) | 150 µs |  |  |  |")
        assert "| pipelined calls | failed: no head |  |  | >= 200 k/s: not measured |" in out, out
        assert "Troupe at abc." in out, out

        # Bad input: a clear message naming the file, exit 2.
        garbage = os.path.join(tmp, "garbage.json")
        with open(garbage, "w", encoding="utf-8") as f:
            f.write("{not json")
        done = run_table(table, garbage)
        expect_equal(done.returncode, 2)
        assert done.stderr.startswith(f"table.py: cannot read {garbage}:"), done.stderr
        done = run_table(table, os.path.join(tmp, "missing.json"))
        expect_equal(done.returncode, 2)
        assert "cannot read" in done.stderr and "missing.json" in done.stderr, done.stderr
        other = os.path.join(tmp, "other.json")
        with open(other, "w", encoding="utf-8") as f:
            json.dump({"results": []}, f)
        done = run_table(table, other)
        expect_equal(done.returncode, 2)
        expect_equal(done.stderr.strip(),
                     f"table.py: {other} is not Google Benchmark JSON output (no 'benchmarks' or 'context')")
        done = run_table(table, "--frobnicate")
        expect_equal(done.returncode, 2)
        assert "unknown option --frobnicate" in done.stderr, done.stderr

        if bench:
            # Two repetitions give a median; one gives no aggregates, and its result stands in.
            for repetitions in (2, 1):
                done = run_table(table, fiber_switch_run(bench, tmp, repetitions))
                expect_equal(done.returncode, 0)
                fiber = row(done.stdout, "fiber switch (resume + suspend)")
                assert re.fullmatch(r"\| fiber switch \(resume \+ suspend\) \| [0-9.,]+ ns \|  \|  \|  \|", fiber), fiber
                expect_equal(row(done.stdout, "synchronous calls"),
                             "| synchronous calls | not run |  |  | >= 2 M/s: not measured |")
    print("table_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
