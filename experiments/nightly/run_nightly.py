#!/usr/bin/env python3
"""The nightly performance-regression job: measure, record, compare (`make nightly`).

1. Runs the Google Benchmark binaries of the release build with repetitions (every
   micro-benchmark but the whole-run BM_Throughput, which the end-to-end runs cover).
2. Runs a fixed set of short `psgd run`s per algorithm (1 and 2 threads), repetitions
   interleaved (round r of every configuration before round r+1), so a slow spell of the shared
   machine spreads over all configurations instead of sinking one.
3. Writes one psgd nightly document (schema: experiments/nightly/nightly.schema.json, checked
   before writing) to results/nightly/<date>-<sha>.json: the repetitions of every benchmark,
   the kernels' rates as a fraction of the reference GEMM of the same run, and the exact final
   losses of the one-thread runs.
4. Runs `psgd compare BASELINE RESULT --markdown RESULT.md` and exits with its code (0 pass,
   1 regression, 2 bad input); with --update-baseline it writes the baseline instead: this
   result pooled with every earlier result of the same clean commit on the same CPU in the
   results folder, so that a baseline recorded over several runs also holds the run-to-run
   noise (a shared machine shifts some benchmarks by 15% between runs while each run's own
   repetitions agree within 2%).

Standard library plus python3-jsonschema (Debian); run it with /usr/bin/python3.
"""

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "experiments", "nightly", "nightly.schema.json")
BASELINE = os.path.join(ROOT, "experiments", "nightly", "baseline.json")

# Google Benchmark binaries (in --bench-dir) and the filter each runs with.
BENCHMARKS = [
    ("psgd_models_bench", "models", "."),
    # BM_SharedVector* (two threads sharing one vector) is a study, too load-sensitive to gate on.
    ("psgd_algorithms_bench", "algorithms", "-BM_Throughput|BM_SharedVector"),
]
QUICK_BENCHMARKS = [
    ("psgd_models_bench", "models", "BM_ReferenceGemm|BM_BatchAssembly/32|training_step/linear"),
    ("psgd_algorithms_bench", "algorithms", "BM_CopyUnderLock|BM_Pause"),
]

# Counters that are the benchmark's headline rate (higher is better) instead of its time.
RATE_COUNTERS = {"samples_per_second": "samples/s", "gflops": "GFLOP/s"}

# Benchmarks drawn by plots/nightly.py and listed first in docs/nightly.md.
HEADLINES = {
    "micro/models/training_step/mlp_128x128x128/512/samples_per_second",
    "micro/models/training_step/mlp_128x128x128/32/samples_per_second",
    "micro/models/training_step/mlp_128x128x128/512/gemm_fraction",
    "micro/models/BM_ReferenceGemm/512/gflops",
    "micro/algorithms/BM_LeashedPublish/134794",
    "micro/algorithms/BM_CopyUnderLock<SpinMutex>",
    "e2e/seq/t1/updates_per_second",
    "e2e/leashed/t2/updates_per_second",
}

# The end-to-end runs: the default model on Fashion-MNIST, 1,200 updates of batch 32 (0.64
# epoch, about 0.5 s of training per run here) with 5 snapshots evaluated on 5,000 training
# samples, so each run takes about 1.5 s with loading and evaluation.
E2E_BASE = ["--model", "mlp:128x128x128", "--batch", "32", "--step", "0.05", "--updates", "1200",
            "--checkpoints", "8", "--eval-samples", "5000", "--seed", "1"]
E2E_CONFIGS = [("seq", 1)] + [
    (algo, threads)
    for algo in ("mutex", "rwlock", "hogwild", "hogwild-atomic", "leashed", "sync")
    for threads in (1, 2)
]
QUICK_E2E_BASE = ["--dataset", "synthetic-dense:1024x16x4", "--model", "linear", "--batch", "16",
                  "--step", "0.1", "--updates", "200", "--checkpoints", "8", "--seed", "1"]
QUICK_E2E_CONFIGS = [("seq", 1), ("leashed", 1), ("leashed", 2)]

# Minimum effects of the end-to-end timings (psgd compare also applies 3 x the measured spread).
# They are wall-clock times of ~1 s runs, which share the machine with everything else on it:
# two nights of the same commit on the shared 2-core development VM (load average 5-8 from other
# users) differed by up to 35% in one configuration's updates/s and 55% in a time-to-epsilon
# (which is also quantized by the checkpoint spacing), with no code change. So they only catch
# gross slowdowns; the CPU-timed micro-benchmarks and the exact losses are the fine gates.
E2E_MIN_EFFECT = {"updates_per_second": 0.5, "time_to_epsilon_50pct": 1.0}


def log(message):
    print("nightly: " + message, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--psgd", default=os.path.join(ROOT, "build", "release", "psgd"))
    p.add_argument("--bench-dir", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--results-dir", default=os.path.join(ROOT, "results", "nightly"))
    p.add_argument("--out", help="result file (default: RESULTS-DIR/<date>-<sha>.json)")
    p.add_argument("--baseline", default=BASELINE)
    p.add_argument("--repetitions", type=int, default=10, help="micro-benchmark repetitions")
    p.add_argument("--min-time", type=float, default=0.05, help="seconds per repetition")
    p.add_argument("--e2e-repetitions", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny settings for the tests")
    p.add_argument("--no-compare", action="store_true", help="measure and record only")
    p.add_argument("--update-baseline", action="store_true",
                   help="copy the result to the baseline instead of comparing")
    p.add_argument("--baseline-from", metavar="RESULT",
                   help="measure nothing: write the baseline from RESULT (a file in the results "
                   "folder) pooled with the earlier results of its build")
    p.add_argument("--validate", metavar="FILE", help="only check FILE against the schema")
    return p.parse_args()


class SchemaError(Exception):
    """A document that breaks the documented schema."""


def validate(document):
    """Raises SchemaError naming the first place where the document breaks the schema."""
    import jsonschema  # python3-jsonschema; imported here so --help works without it

    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "the document"
        raise SchemaError("%s: %s" % (where, e.message)) from None


def run_google_benchmark(path, flt, repetitions, min_time):
    """One binary's per-repetition rows and its context (Google Benchmark JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [path, "--benchmark_filter=" + flt, "--benchmark_repetitions=%d" % repetitions,
               "--benchmark_min_time=%g" % min_time, "--benchmark_display_aggregates_only=true",
               "--benchmark_out=" + out, "--benchmark_out_format=json"]
        log(" ".join(cmd))
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def benchmark_entries(doc, prefix):
    """Nightly benchmark entries from Google Benchmark rows: the rate counters where the
    benchmark has them (samples/s, GFLOP/s), else the time Google Benchmark reports."""
    entries = {}
    for row in doc["benchmarks"]:
        if row.get("run_type") == "aggregate" or row.get("error_occurred"):
            continue
        name = row.get("run_name", row["name"])
        rates = {k: v for k, v in RATE_COUNTERS.items() if k in row}
        if rates:
            for counter, unit in rates.items():
                key = "%s/%s/%s" % (prefix, name, counter)
                entries.setdefault(key, {"unit": unit, "higher_is_better": True, "samples": []})
                entries[key]["samples"].append(row[counter])
        else:
            by_real = name.endswith("/manual_time") or name.endswith("/real_time")
            key = "%s/%s" % (prefix, name)
            entries.setdefault(key, {"unit": row.get("time_unit", "ns"),
                                     "higher_is_better": False, "samples": []})
            entries[key]["samples"].append(row["real_time" if by_real else "cpu_time"])
    return entries


def add_gemm_fractions(entries, prefix):
    """Each training step's GFLOP/s over the reference GEMM's, repetition by repetition (both
    ran in the same process, minutes apart at most)."""
    gemm = entries.get(prefix + "/BM_ReferenceGemm/512/gflops")
    if gemm is None:
        return
    for key in [k for k in entries if k.endswith("/gflops") and "training_step" in k]:
        pairs = zip(entries[key]["samples"], gemm["samples"])
        entries[key[: -len("gflops")] + "gemm_fraction"] = {
            "unit": "fraction", "higher_is_better": True,
            "samples": [kernel / reference for kernel, reference in pairs]}


def run_psgd(psgd, args):
    """One `psgd run` document; the run's summary on stderr is shown only when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        done = subprocess.run([psgd, "run", *args, "--out", out], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-4000:])
            raise subprocess.CalledProcessError(done.returncode, done.args)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def run_end_to_end(psgd, base, configs, repetitions):
    """Measures and deterministic values of every configuration, and the first run's context."""
    measures, exact, context = {}, {}, None
    for rep in range(repetitions):
        for algo, threads in configs:
            args = [*base, "--algo", algo, "--threads", str(threads)]
            log("round %d/%d: psgd run --algo %s --threads %d" % (rep + 1, repetitions, algo,
                                                                  threads))
            doc = run_psgd(psgd, args)
            context = context or doc["context"]
            key = "e2e/%s/t%d" % (algo, threads)
            add_sample(measures, key + "/updates_per_second", "updates/s", True,
                       doc["throughput"]["updates_per_second"])
            tte = doc["metrics"]["time_to_epsilon"].get("50%")
            if tte is not None:
                add_sample(measures, key + "/time_to_epsilon_50pct", "s", False, tte)
            if threads == 1:
                for metric in ("final_train_loss", "final_test_accuracy"):
                    exact.setdefault(key + "/" + metric, []).append(doc["metrics"][metric])
    return measures, exact, context


def add_sample(measures, key, unit, higher, value):
    entry = measures.setdefault(key, {"unit": unit, "higher_is_better": higher, "samples": []})
    entry["min_effect"] = E2E_MIN_EFFECT[key.rsplit("/", 1)[1]]
    entry["samples"].append(value)


def as_list(entries):
    return [{"name": name, **e, "median": median(e["samples"]), "headline": name in HEADLINES}
            for name, e in entries.items()]


def result_path(results_dir, context):
    """results/nightly/<date>-<sha>.json, with -2, -3, ... when that name is taken."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    sha = (context.get("git_sha") or "nosha")[:12]
    stem = os.path.join(results_dir, "%s-%s" % (date, sha))
    path, n = stem + ".json", 1
    while os.path.exists(path):
        n += 1
        path = "%s-%d.json" % (stem, n)
    return path


def write_atomically(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def same_build(a, b):
    """Results of one clean commit on one CPU: their repetitions may be pooled."""
    ca, cb = a["context"], b["context"]
    return (ca.get("git_sha") and not ca.get("git_dirty") and not cb.get("git_dirty")
            and ca.get("git_sha") == cb.get("git_sha") and ca.get("cpu") == cb.get("cpu")
            and a["settings"]["quick"] == b["settings"]["quick"])


def pooled(document, out, results_dir):
    """The document with the repetitions of every earlier result of the same build added."""
    peers = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        if os.path.abspath(path) == os.path.abspath(out):
            continue
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("kind") == "psgd-nightly" and same_build(document, doc):
            peers.append((path, doc))
    if not peers:
        return document
    merged = json.loads(json.dumps(document))
    for _, doc in peers:
        earlier = {b["name"]: b for b in doc["benchmarks"]}
        for b in merged["benchmarks"]:
            b["samples"] = earlier.get(b["name"], {}).get("samples", []) + b["samples"]
        exact = {d["name"]: d for d in doc["deterministic"]}
        for d in merged["deterministic"]:
            d["values"] = exact.get(d["name"], {}).get("values", []) + d["values"]
    for b in merged["benchmarks"]:
        b["median"] = median(b["samples"])
    merged["pooled_from"] = [os.path.relpath(p, ROOT) for p, _ in peers] + [
        os.path.relpath(out, ROOT)]
    return merged


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def measure(args):
    start = time.monotonic()
    benchmarks = QUICK_BENCHMARKS if args.quick else BENCHMARKS
    entries, bench_context = {}, None
    for binary, prefix, flt in benchmarks:
        doc = run_google_benchmark(os.path.join(args.bench_dir, binary), flt, args.repetitions,
                                   args.min_time)
        bench_context = bench_context or doc["context"]
        entries.update(benchmark_entries(doc, "micro/" + prefix))
    add_gemm_fractions(entries, "micro/models")
    base, configs = (QUICK_E2E_BASE, QUICK_E2E_CONFIGS) if args.quick else (E2E_BASE, E2E_CONFIGS)
    measures, exact, context = run_end_to_end(args.psgd, base, configs, args.e2e_repetitions)
    entries.update(measures)
    context = dict(context)
    context["google_benchmark"] = {k: bench_context.get(k) for k in (
        "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches", "library_build_type",
        "openblas_core")}  # the kernel set of BM_ReferenceGemmOpenBLAS (None: no OpenBLAS)
    return {
        "schema_version": 1,
        "kind": "psgd-nightly",
        "context": context,
        "settings": {
            "quick": args.quick,
            "repetitions": args.repetitions,
            "min_time_seconds": args.min_time,
            "e2e_repetitions": args.e2e_repetitions,
            "e2e_args": base,
            "e2e_configs": [{"algo": a, "threads": t} for a, t in configs],
            "wall_seconds": round(time.monotonic() - start, 1),
        },
        "benchmarks": as_list(entries),
        "deterministic": [{"name": k, "values": v} for k, v in exact.items()],
    }


def main():
    args = parse_args()
    if args.validate:
        with open(args.validate, encoding="utf-8") as f:
            validate(json.load(f))
        log(args.validate + " follows " + os.path.relpath(SCHEMA, ROOT))
        return 0
    if args.baseline_from:
        with open(args.baseline_from, encoding="utf-8") as f:
            document = json.load(f)
        validate(document)
        out = args.baseline_from
    else:
        document = measure(args)
        validate(document)
        out = args.out or result_path(args.results_dir, document["context"])
        write_atomically(out, json.dumps(document, indent=1) + "\n")
        log("wrote %s (%d benchmarks, %d deterministic results, %.0f s)" % (
            out, len(document["benchmarks"]), len(document["deterministic"]),
            document["settings"]["wall_seconds"]))
    if args.update_baseline or args.baseline_from:
        baseline = pooled(document, out, args.results_dir)
        validate(baseline)
        write_atomically(args.baseline, json.dumps(baseline, indent=1) + "\n")
        log("baseline updated: %s (pooled from %d result files)" % (
            args.baseline, len(baseline.get("pooled_from", [out]))))
        return 0
    if args.no_compare:
        return 0
    if not os.path.exists(args.baseline):
        log("no baseline at %s: record one with `make nightly-baseline`" % args.baseline)
        return 2
    md = os.path.splitext(out)[0] + ".md"
    code = subprocess.run([args.psgd, "compare", args.baseline, out, "--markdown", md]).returncode
    log("report: " + md)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        log("failed (exit %s): %s" % (e.returncode, " ".join(map(str, e.cmd))))
        sys.exit(3)
    except SchemaError as e:
        log("does not follow %s: %s" % (os.path.relpath(SCHEMA, ROOT), e))
        sys.exit(2)
    except (OSError, ValueError, KeyError) as e:
        log("failed: %s" % e)
        sys.exit(3)
