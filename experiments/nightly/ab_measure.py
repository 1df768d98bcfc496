"""The measuring half of the nightly A/B job (experiments/nightly/ab.py): runs the probes of two
builds in interleaved pairs, each repetition a fresh process, and guards the pairs against load
jumps.

A probe is one process whose output gives one sample of each of its benchmarks: one Google
Benchmark binary run once (--benchmark_repetitions=1, the filter of run_nightly.py) or one
`psgd run` of one end-to-end configuration (run_nightly.py's settings). Pair i runs every probe
once on each build, A first when i is even and B first when it is odd, so the sequence of each
probe is A B B A A B ...: a machine that drifts during the job shifts the two builds alike, and
neither is always the first one after the other's warm caches.

The load guard reads the 1-minute load average (/proc/loadavg) before and after each pair of a
probe. When it moved by more than `load_jump`, the pair straddles a jump (another user's job
started or ended between A and B) and is measured again, up to `retries` times; a pair that
still straddles one is kept and marked disturbed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_nightly  # noqa: E402  (the single-build job's probes and settings are reused)

LOADAVG = "/proc/loadavg"


def read_load(path=LOADAVG):
    """The 1-minute load average, or None where there is no /proc/loadavg."""
    try:
        with open(path, encoding="ascii") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class MicroProbe:
    """One Google Benchmark binary of a build, run once: one sample of every benchmark."""

    def __init__(self, binary, prefix, flt, min_time):
        self.name = "micro/" + prefix
        self.binary, self.prefix, self.flt, self.min_time = binary, prefix, flt, min_time

    def run(self, bin_dir):
        doc = run_nightly.run_google_benchmark(os.path.join(bin_dir, self.binary), self.flt, 1,
                                               self.min_time)
        entries = run_nightly.benchmark_entries(doc, "micro/" + self.prefix)
        run_nightly.add_gemm_fractions(entries, "micro/" + self.prefix)
        measures = {k: (e["unit"], e["higher_is_better"], e["samples"][0])
                    for k, e in entries.items()}
        return measures, {}, doc.get("context", {})


class EndToEndProbe:
    """One `psgd run` of one configuration: its rate, its time to the 50% target, and for one
    thread its exact final loss and accuracy."""

    def __init__(self, base, algo, threads):
        self.name = "e2e/%s/t%d" % (algo, threads)
        self.args = [*base, "--algo", algo, "--threads", str(threads)]
        self.threads = threads

    def run(self, bin_dir):
        doc = run_nightly.run_psgd(os.path.join(bin_dir, "psgd"), self.args)
        measures = {self.name + "/updates_per_second":
                    ("updates/s", True, doc["throughput"]["updates_per_second"])}
        tte = doc["metrics"]["time_to_epsilon"].get("50%")
        if tte is not None:
            measures[self.name + "/time_to_epsilon_50pct"] = ("s", False, tte)
        exact = {}
        if self.threads == 1:
            exact = {self.name + "/" + m: doc["metrics"][m]
                     for m in ("final_train_loss", "final_test_accuracy")}
        return measures, exact, doc.get("context", {})


def side_order(pair):
    """A B for even pairs, B A for odd ones."""
    return ("A", "B") if pair % 2 == 0 else ("B", "A")


def run_pairs(probes, dirs, pairs, load_jump, retries, read=read_load, log=None):
    """Runs every probe in `pairs` interleaved pairs on dirs = {"A": ..., "B": ...}.

    Returns (samples, exact, loads, schedule, contexts):
    samples[name] = {"unit", "higher_is_better", "A": [...], "B": [...]}, one value per kept pair
    (a benchmark missing from either side of a pair is left out of that pair);
    exact[name] = {"A": [...], "B": [...]}; loads: one record per kept pair of a probe
    (before, after, attempts, disturbed); schedule: every process in the order it ran,
    (probe, pair, side, attempt); contexts: the first context each side reported.
    """
    samples, exact, loads, schedule, contexts = {}, {}, [], [], {}
    for pair in range(pairs):
        for probe in probes:
            for attempt in range(retries + 1):
                before = read()
                got = {}
                for side in side_order(pair):
                    if log:
                        log("pair %d/%d, %s, build %s" % (pair + 1, pairs, probe.name, side))
                    schedule.append((probe.name, pair, side, attempt))
                    got[side] = probe.run(dirs[side])
                after = read()
                jumped = (before is not None and after is not None
                          and abs(after - before) > load_jump)
                if not jumped or attempt == retries:
                    break
                if log:
                    log("load moved %.2f -> %.2f during the pair: measuring it again"
                        % (before, after))
            loads.append({"probe": probe.name, "pair": pair, "before": before, "after": after,
                          "attempts": attempt + 1, "disturbed": jumped})
            for side in ("A", "B"):
                contexts.setdefault(side, got[side][2])
            a_measures, b_measures = got["A"][0], got["B"][0]
            for name in a_measures.keys() & b_measures.keys():
                unit, higher, _ = a_measures[name]
                entry = samples.setdefault(name, {"unit": unit, "higher_is_better": higher,
                                                  "A": [], "B": []})
                entry["A"].append(a_measures[name][2])
                entry["B"].append(b_measures[name][2])
            for side in ("A", "B"):
                for name, value in got[side][1].items():
                    exact.setdefault(name, {"A": [], "B": []})[side].append(value)
    return samples, exact, loads, schedule, contexts
