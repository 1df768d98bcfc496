#!/usr/bin/python3
"""A fake build for the A/B job's tests (test_ab_end_to_end.py): stands in for psgd,
psgd_models_bench and psgd_algorithms_bench. Each call sleeps BASE x --scale seconds and reports
the time it measured, so a build with --scale 2 is twice as slow as one with --scale 1 by the
clock, not by decree; `psgd run` also reports --loss as its exact final loss.

  fake_build.py --scale S --loss L --role bench|psgd [the real binary's arguments]
"""

import json
import sys
import time

BASE_SECONDS = 0.04


def option(argv, name):
    for a in argv:
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    i = argv.index(name)
    return argv[i + 1]


def main():
    argv = sys.argv[1:]
    scale, loss, role = float(argv[1]), float(argv[3]), argv[5]
    rest = argv[6:]
    if role == "psgd" and rest == ["--version"]:  # as psgd prints it: the flags say the scale
        print("psgd 0.0.0 (fake)\nflags:     -O2 -fake-scale=%g" % scale)
        return
    start = time.monotonic()
    time.sleep(BASE_SECONDS * scale)
    elapsed = time.monotonic() - start
    if role == "bench":
        doc = {"context": {"num_cpus": 2}, "benchmarks": [
            {"name": "BM_Fake/manual_time", "run_name": "BM_Fake/manual_time",
             "run_type": "iteration", "real_time": elapsed * 1e6, "cpu_time": 1.0,
             "time_unit": "us"}]}
        out = option(rest, "--benchmark_out")
    else:
        doc = {"context": {"git_sha": "fa4e%08d" % int(scale * 100), "git_dirty": False},
               "throughput": {"updates_per_second": 200 / elapsed},
               "metrics": {"time_to_epsilon": {}, "final_train_loss": loss,
                           "final_test_accuracy": 0.5}}
        out = option(rest, "--out")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
