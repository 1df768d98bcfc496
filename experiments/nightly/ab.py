#!/usr/bin/env python3
"""The nightly A/B job (`make nightly AGAINST=<revision>`): two builds measured in one run.

A is the build of AGAINST (built once per commit in build/ab/<sha>/, ab_build.py), B the build
being tested (build/release, which `make` has just built; or --new REV, built like A). Every
probe (one micro-benchmark binary run, one `psgd run` configuration) runs in interleaved pairs,
A B B A ..., each a fresh process (ab_measure.py); per benchmark the job reports the median of
the paired ratios B/A, its sign-test interval, the verdict and the smallest effect the run could
have detected (ab_stats.py), and checks that the one-thread final losses and accuracies are the
same numbers in both builds. Writes results/nightly/ab/<date>-<A sha>-vs-<B sha>.json and .md.

Exit codes, as `psgd compare`'s: 0 pass (or DISTURBED: a slower benchmark while the load moved
more than --load-change, not judged), 1 a benchmark slower or a deterministic result CHANGED,
2 bad input (also: too few --pairs for the number of distinct benchmarks, so no timing was
judged; the documents are still written), 3 a build, a benchmark or a run failed.

Standard library only; run it with /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ab_build  # noqa: E402
import ab_measure  # noqa: E402
import ab_report  # noqa: E402
import ab_stats  # noqa: E402
import run_nightly  # noqa: E402

ROOT = run_nightly.ROOT


# The end-to-end configurations of a default A/B run: a subset of run_nightly.py's 13, since
# every one runs 2 x --pairs times (a `psgd run` of the default model took 8-35 s on 2026-12-06
# at load 13 here, about 1 s when idle): two one-thread runs whose exact losses must match
# (sequential SGD and a lock) and Leashed-SGD at 2 threads. The default was five configurations
# (with leashed:1 and hogwild:2) until a default run took 7 minutes on an idle machine
# (2026-12-06); their timed measures resolved only 21-87% effects anyway.
AB_E2E_CONFIGS = [("seq", 1), ("mutex", 1), ("leashed", 2)]


# The micro-benchmarks of a default A/B run: the models binary's training steps, reference GEMMs
# and batch assembly, and the algorithms binary's primitives that the workers' loops run (copies,
# locks, racy and atomic applies, barrier, pause, backoff, bookkeeping). Left out: the models
# binary's diagnostic split of the MLP step (BM_MlpPart*, BM_MlpStepGemms*), the algorithms
# binary's whole-scheme benchmarks (BM_Throughput, BM_SchemeThroughput, BM_NonblockingStraggler,
# which the end-to-end runs cover: with them one process took 34-39 s here at load 8), the
# shared-vector study (BM_SharedVector*) and the operating system's calls (BM_Wait, BM_Yield,
# BM_SteadyClockNow). Every probe runs 2 x --pairs times, and every series left in widens the
# family the verdict must cover (ab_stats.py); `--micro '.,-BM_Throughput'` measures them all.
AB_BENCHMARKS = [
    ("psgd_models_bench", "models", "training_step|BM_ReferenceGemm|BM_BatchAssembly"),
    ("psgd_algorithms_bench", "algorithms",
     "-BM_Throughput|BM_SchemeThroughput|BM_NonblockingStraggler|BM_SharedVector|BM_Wait|"
     "BM_Yield|BM_SteadyClockNow"),
]


class BadInput(Exception):
    """An option or revision the job cannot use: one line, exit 2."""


def log(message):
    print("ab: " + message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--against", metavar="REV", help="A: the revision to compare with")
    p.add_argument("--against-cmake-arg", action="append", default=[], metavar="ARG",
                   help="an extra CMake argument for A's build (repeatable), e.g. "
                   "-DPSGD_TEST_SLOWDOWN_PERCENT=10")
    p.add_argument("--new", metavar="REV", help="B: build this revision like A "
                   "(default: the binaries in --b-dir)")
    p.add_argument("--new-cmake-arg", action="append", default=[], metavar="ARG",
                   help="an extra CMake argument for B's build with --new (repeatable)")
    p.add_argument("--a-dir", help="A's binaries, already built (instead of --against)")
    p.add_argument("--b-dir", default=os.path.join(ROOT, "build", "release"),
                   help="B's binaries (default: build/release)")
    # 16 pairs: the fewest whose sign-test interval is narrower than [min, max] (k = 2) when a
    # default run's 58 distinct series share a 95% family (ab_stats.py); 12 is the floor.
    p.add_argument("--pairs", type=int, default=16, help="pairs per probe (default: 16)")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds per micro-benchmark per process (default: 0.05)")
    p.add_argument("--min-effect", type=float, default=0.02,
                   help="slower only when the whole interval lies beyond this slowdown "
                   "(default: 0.02)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="confidence that all the run's intervals cover together (Bonferroni "
                   "over its distinct benchmarks; default: 0.95)")
    p.add_argument("--load-jump", type=float, default=1.0,
                   help="a pair whose 1-minute load average moved by more than this is measured "
                   "again (default: 1.0)")
    p.add_argument("--retries", type=int, default=2,
                   help="times a pair that straddles a load jump is measured again (default: 2)")
    p.add_argument("--load-change", type=float, default=3.0,
                   help="the report is DISTURBED, not failed, when the load average moved by "
                   "more than this over the run (default: 3.0)")
    p.add_argument("--quick", action="store_true",
                   help="the tiny probes of run_nightly.py --quick (the tests)")
    p.add_argument("--micro", default=None, metavar="FILTERS",
                   help="MODELS_FILTER,ALGORITHMS_FILTER: Google Benchmark filters of the two "
                   "binaries (an empty one skips its binary, 'none' both; default: %s)"
                   % " and ".join("'%s'" % flt for _, _, flt in AB_BENCHMARKS))
    p.add_argument("--e2e", default=None, metavar="CONFIGS",
                   help="end-to-end configurations as algo:threads,... ('none' to skip them; "
                   "default: %s)" % ",".join("%s:%d" % c for c in AB_E2E_CONFIGS))
    p.add_argument("--results-dir", default=os.path.join(ROOT, "results", "nightly", "ab"))
    p.add_argument("--out", help="result file (default: RESULTS-DIR/<date>-<A>-vs-<B>.json)")
    p.add_argument("--jobs", type=int, default=2, help="build parallelism (default: 2)")
    return p.parse_args(argv)


def check_args(args):
    """Range checks before anything runs (BadInput: one line naming the valid values)."""
    need = ab_stats.min_pairs(args.confidence) if 0.5 < args.confidence < 1 else None
    if need is None:
        raise BadInput("--confidence must be in (0.5, 1), not %g" % args.confidence)
    if args.pairs < need or args.pairs > 1000:
        raise BadInput("--pairs must be in %d..1000 (a %g%% sign-test interval needs %d pairs), "
                       "not %d" % (need, 100 * args.confidence, need, args.pairs))
    for name, value, low, high in (("--min-effect", args.min_effect, 0.0, 1.0),
                                   ("--min-time", args.min_time, 0.001, 60.0),
                                   ("--load-jump", args.load_jump, 0.0, 1000.0),
                                   ("--load-change", args.load_change, 0.0, 1000.0)):
        if not low <= value <= high:
            raise BadInput("%s must be in [%g, %g], not %g" % (name, low, high, value))
    if not 0 <= args.retries <= 10:
        raise BadInput("--retries must be in 0..10, not %d" % args.retries)
    if not 1 <= args.jobs <= 256:
        raise BadInput("--jobs must be in 1..256, not %d" % args.jobs)
    if (args.against is None) == (args.a_dir is None):
        raise BadInput("give A as exactly one of --against REV and --a-dir DIR")


def probes(args):
    """The probes of this run, in the order each pair runs them."""
    micro = run_nightly.QUICK_BENCHMARKS if args.quick else AB_BENCHMARKS
    if args.micro == "none":
        micro = []
    elif args.micro is not None:
        filters = args.micro.split(",")
        if len(filters) != 2:
            raise BadInput("--micro must be 'none' or MODELS_FILTER,ALGORITHMS_FILTER (an empty "
                           "filter skips its binary), not '%s'" % args.micro)
        micro = [(b, p, f) for (b, p, _), f in zip(AB_BENCHMARKS, filters) if f]
    base = run_nightly.QUICK_E2E_BASE if args.quick else run_nightly.E2E_BASE
    configs = run_nightly.QUICK_E2E_CONFIGS if args.quick else AB_E2E_CONFIGS
    if args.e2e == "none":
        configs = []
    elif args.e2e is not None:
        configs = []
        for item in args.e2e.split(","):
            algo, _, threads = item.partition(":")
            if not algo or not threads.isdigit() or not 1 <= int(threads) <= 1024:
                raise BadInput("--e2e must be 'none' or ALGO:THREADS,... with THREADS in 1..1024, "
                               "not '%s'" % item)
            configs.append((algo, int(threads)))
    result = [ab_measure.MicroProbe(b, p, f, args.min_time) for b, p, f in micro]
    result += [ab_measure.EndToEndProbe(base, a, t) for a, t in configs]
    if not result:
        raise BadInput("nothing to measure: --micro none and --e2e none")
    return result


def build_side(revision, cmake_args, jobs, todo):
    """Builds only the binaries the probes run (the MLP step alone needs no psgd)."""
    targets = sorted({p.binary for p in todo if isinstance(p, ab_measure.MicroProbe)}
                     | ({"psgd"} if any(isinstance(p, ab_measure.EndToEndProbe) for p in todo)
                        else set()))
    try:
        return ab_build.build(ROOT, revision, cmake_args, jobs, targets)
    except ab_build.BuildError as e:
        if e.bad_input:
            raise BadInput(str(e)) from None
        raise


def built_sha(bin_dir):
    """The commit a build folder was built from, from the header the build writes
    (cmake/git_state.cmake), or None (a micro-benchmark run reports no commit)."""
    try:
        with open(os.path.join(bin_dir, "generated", "psgd_git_state.hpp"), encoding="utf-8") as f:
            found = re.search(r"\b[0-9a-f]{40}\b", f.read())
    except OSError:
        return None
    return found.group(0) if found else None


def side_sha(context, bin_dir, revision):
    """A side's commit: its runs' context, else its build folder's header, else the revision it
    was built from (a worktree build of only the micro-benchmarks has neither)."""
    if context.get("git_sha") or built_sha(bin_dir):
        return context.get("git_sha") or built_sha(bin_dir)
    return ab_build.resolve(ROOT, revision) if revision else None


def version_of(bin_dir):
    """`psgd --version` of a side's build (its commit, compiler, build type and flags: a build
    with -DPSGD_TEST_SLOWDOWN_PERCENT=N says so there), or None where the folder has no psgd or
    it fails."""
    psgd = os.path.join(bin_dir, "psgd")
    if not os.path.isfile(psgd):
        return None
    try:
        done = subprocess.run([psgd, "--version"], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def label(context, bin_dir, sha):
    sha = (sha or "nosha")[:12]
    dirty = "+dirty" if context.get("git_dirty") else ""
    return "%s%s (%s)" % (sha, dirty, os.path.relpath(bin_dir, ROOT))


def result_path(results_dir, a_sha, b_sha):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    stem = os.path.join(results_dir, "%s-%s-vs-%s" % (date, a_sha[:12], b_sha[:12]))
    path, n = stem + ".json", 1
    while os.path.exists(path):
        n += 1
        path = "%s-%d.json" % (stem, n)
    return path


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    todo = probes(args)
    start = time.monotonic()
    a_dir = args.a_dir or build_side(args.against, args.against_cmake_arg, args.jobs, todo)
    b_dir = build_side(args.new, args.new_cmake_arg, args.jobs, todo) if args.new else args.b_dir
    for side, d in (("A", a_dir), ("B", b_dir)):
        if not os.path.isdir(d):
            raise BadInput("%s's binaries: no folder %s (build it, e.g. `make release`)"
                           % (side, d))
    build_seconds = time.monotonic() - start
    samples, exact, loads, schedule, contexts = ab_measure.run_pairs(
        todo, {"A": a_dir, "B": b_dir}, args.pairs, args.load_jump, args.retries, log=log)
    verdict = ab_report.judge(samples, exact, loads, args.min_effect, args.confidence,
                              args.load_change)
    # Too few pairs for the family judges no timing: the documents are written (what was measured
    # is kept), and the job exits 2, as for bad input, so a job with a low --pairs never passes;
    # a CHANGED deterministic result, which needs no pairs, still exits 1.
    need = ab_stats.min_pairs(args.confidence, verdict["family_size"])
    too_few = args.pairs < need
    if too_few:
        log("too few pairs: %d distinct benchmarks at a %g%% family need %d pairs or more "
            "(--pairs %d); nothing was judged" % (verdict["family_size"],
                                                  100 * args.confidence, need, args.pairs))
    shas = {"A": side_sha(contexts.get("A", {}), a_dir, args.against),
            "B": side_sha(contexts.get("B", {}), b_dir, args.new)}
    document = {
        "kind": "psgd-nightly-ab",
        "schema_version": 1,
        "builds": {side: {"dir": os.path.relpath(d, ROOT), "context": contexts.get(side, {}),
                          "git_sha": shas[side], "version": version_of(d),
                          "label": label(contexts.get(side, {}), d, shas[side])}
                   for side, d in (("A", a_dir), ("B", b_dir))},
        "settings": {"pairs": args.pairs, "min_time_seconds": args.min_time,
                     "min_effect": args.min_effect, "confidence": args.confidence,
                     "load_jump": args.load_jump, "retries": args.retries,
                     "load_change": args.load_change, "quick": args.quick,
                     "probes": [p.name for p in todo],
                     "build_seconds": round(build_seconds, 1),
                     "measure_seconds": round(time.monotonic() - start - build_seconds, 1)},
        "loads": loads,
        "schedule": [{"probe": p, "pair": i, "side": s, "attempt": t} for p, i, s, t in schedule],
        "verdict": verdict,
    }
    out = args.out or result_path(args.results_dir, shas["A"] or "A", shas["B"] or "B")
    run_nightly.write_atomically(out, json.dumps(document, indent=1) + "\n")
    md = os.path.splitext(out)[0] + ".md"
    run_nightly.write_atomically(md, ab_report.as_markdown(document))
    sys.stdout.write(ab_report.as_text(document))
    log("wrote %s and %s (%.0f s measuring)" % (out, md, document["settings"]["measure_seconds"]))
    if too_few and verdict["status"] != "CHANGED":
        return 2
    return ab_report.exit_code(verdict["status"])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BadInput as e:
        log(str(e))
        sys.exit(2)
    except ab_build.BuildError as e:
        log(str(e))
        sys.exit(3)
    except subprocess.CalledProcessError as e:
        log("failed (exit %s): %s" % (e.returncode, " ".join(map(str, e.cmd))))
        sys.exit(3)
    except (OSError, ValueError, KeyError) as e:
        log("failed: %s" % e)
        sys.exit(3)
