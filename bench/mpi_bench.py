#!/usr/bin/python3
"""psgd across processes (`--backend mpi`) measured on this machine (issue #22, item 6).

Three measurements, each repeated --reps times with the repetitions interleaved (every case once
per pass, the passes one after the other), so the machine's load drifts over all cases alike;
medians over the passes, ratios within one pass:

  combine    build/release/psgd_bench_combine_mpi under `mpirun -np R` for each R of --ranks:
             psgd's MpiCombine::mean over the 134,794 floats of the default MLP at 1 and 2
             threads per rank, against a bare MPI_Allreduce of the same vector in the same run,
             and the round's agreement (one MPI_Allgather).
  per-update psgd run --backend mpi for each method of METHODS and each R: per update and rank,
             the time in the reduce phase's allreduce (communication_seconds: one thread's),
             waiting in the agreement (waiting_seconds) and the rest of the round (gradients and
             the local work: wall time per update less the two). A method is one more row.
  ranks-vs-threads  sync at --batch 512: 2 ranks x 1 thread (mpirun --bind-to core) against
             1 rank x 2 threads (--backend local), samples per second, ratio per pass.

Prints Markdown tables and the load average before and after; --json keeps every number.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# (label, psgd run arguments): one row per method of the per-update table.
METHODS = [
    ("sync", ["--algo", "sync"]),
    ("local-sgd (H=4)", ["--algo", "local-sgd", "--local-steps", "4"]),
]
MPIRUN = ["mpirun", "--allow-run-as-root"]
EXTRA = []  # --mpirun-args
RUN = ["--dataset", "fashion-mnist", "--model", "mlp:128x128x128", "--placement", "none",
       "--checkpoints", "1", "--eval-samples", "1000"]


def load():
    return os.getloadavg()[0]


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"mpi_bench: {' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def mpirun(ranks, binding):
    return MPIRUN + EXTRA + binding + ["-np", str(ranks)]


def binding_for(ranks):
    """A core per rank where there are enough; more ranks than cores share them."""
    return ["--oversubscribe"] if ranks > os.cpu_count() else ["--bind-to", "core"]


def combine_pass(bench, ranks, out):
    """One run of the combine benchmark at R ranks: {name: microseconds per iteration}."""
    run(mpirun(ranks, binding_for(ranks))
        + [bench, f"--benchmark_out={out}", "--benchmark_out_format=json"])
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    return {b["name"].replace("/iterations:200/real_time", ""): b["real_time"]
            for b in doc["benchmarks"]}


def psgd_run(psgd, launcher, args, out):
    run(launcher + [psgd, "run"] + RUN + args + ["--out", out])
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def per_update(doc):
    """Per update, averaged over ranks: (communication, waiting, rest) in milliseconds."""
    applied = doc["updates"]["applied"]
    wall = doc["metrics"]["wall_seconds"]
    ranks = doc["ranks"]
    # The rank's worker 0 alone allreduces (mpi_combine.hpp): its time is the rank's.
    comm = statistics.mean(r["communication_seconds"] for r in ranks) / applied
    wait = statistics.mean(r["waiting_seconds"] for r in ranks) / applied
    return 1e3 * comm, 1e3 * wait, 1e3 * (wall / applied - comm - wait)


def median_table(rows):
    return {k: statistics.median(v) for k, v in rows.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build/release")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--epochs", default="0.25", help="per-update runs' budget")
    p.add_argument("--compare-epochs", default="1", help="ranks-vs-threads runs' budget")
    p.add_argument("--only", default="combine,per-update,ranks-vs-threads")
    p.add_argument("--json", help="write every measured number here")
    p.add_argument("--mpirun-args", default="",
                   help="more mpirun options, e.g. '--mca mpi_yield_when_idle 1'")
    a = p.parse_args()
    EXTRA.extend(a.mpirun_args.split())
    psgd = os.path.join(a.build, "psgd")
    bench = os.path.join(a.build, "psgd_bench_combine_mpi")
    ranks = [int(r) for r in a.ranks.split(",")]
    only = a.only.split(",")
    result = {"load_before": load(), "cpus": os.cpu_count(), "reps": a.reps}
    combine, ratio, updates, compare = {}, {}, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        for _ in range(a.reps):
            if "combine" in only:
                for r in ranks:
                    times = combine_pass(bench, r, out)
                    for name, t in times.items():
                        combine.setdefault((r, name), []).append(t)
                        # One rank's in-place allreduce is MPI's no-op: no ratio to it.
                        if name.startswith("BM_PsgdMean") and times["BM_BareAllreduce"] >= 1.0:
                            ratio.setdefault((r, name), []).append(t / times["BM_BareAllreduce"])
            if "per-update" in only:
                for label, args in METHODS:
                    for r in ranks:
                        doc = psgd_run(psgd, mpirun(r, binding_for(r)), args + [
                            "--backend", "mpi", "--threads", "1", "--batch", "128",
                            "--epochs", a.epochs], out)
                        updates.setdefault((label, r), []).append(per_update(doc))
            if "ranks-vs-threads" in only:
                common = ["--algo", "sync", "--batch", "512", "--epochs", a.compare_epochs]
                two_ranks = psgd_run(psgd, mpirun(2, ["--bind-to", "core"]),
                                     common + ["--backend", "mpi", "--threads", "1"], out)
                one_rank = psgd_run(psgd, [], common + ["--threads", "2"], out)
                compare.append((two_ranks["throughput"]["samples_per_second"],
                                one_rank["throughput"]["samples_per_second"],
                                two_ranks["ranks"]))
    result["load_after"] = load()
    print(f"load average (1 min) before {result['load_before']:.1f}, after "
          f"{result['load_after']:.1f}, on {result['cpus']} CPUs; medians of {a.reps} passes\n")
    if combine:
        med, rat = median_table(combine), median_table(ratio)
        print("| ranks | benchmark | us per call (median) "
              "| psgd / bare (median of per-pass ratios) |")
        print("|---|---|---|---|")
        for (r, name), t in sorted(med.items()):
            shown = f"{rat[(r, name)]:.2f}x" if (r, name) in rat else ""
            print(f"| {r} | {name} | {t:.0f} | {shown} |")
        result["combine"] = [{"ranks": r, "benchmark": n, "us": v, "runs": combine[(r, n)]}
                             for (r, n), v in med.items()]
    if updates:
        print("\n| method | ranks | ms/update: allreduce | agreement wait "
              "| rest (gradient, local) |")
        print("|---|---|---|---|---|")
        for (label, r), rows in updates.items():
            c, w, g = (statistics.median(x[i] for x in rows) for i in range(3))
            print(f"| {label} | {r} | {c:.2f} | {w:.2f} | {g:.2f} |")
        result["per_update"] = [{"method": m, "ranks": r, "ms": rows}
                                for (m, r), rows in updates.items()]
    if compare:
        ratios = [two / one for two, one, _ in compare]
        print("\nsync --batch 512: 2 ranks x 1 thread against 1 rank x 2 threads, samples/s: "
              f"median {statistics.median(c[0] for c in compare):.0f} against "
              f"{statistics.median(c[1] for c in compare):.0f}, ratio median "
              f"{statistics.median(ratios):.2f}x (passes: "
              + ", ".join(f"{x:.2f}" for x in ratios) + ")")
        result["ranks_vs_threads"] = [{"two_ranks": t, "one_rank": o, "ranks": rk}
                                      for t, o, rk in compare]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
