"""The report of the nightly A/B job (experiments/nightly/ab.py): the verdicts from the paired
samples, the load record, and the same table as text (stdout) and Markdown (next to the JSON)."""

import ab_stats


def judge(samples, exact, loads, min_effect, confidence, load_change):
    """The rows, the exact checks, the disturbance and the overall status of one A/B run.

    confidence is the family's: the intervals of all distinct benchmarks cover together with at
    least this probability (ab_stats.family_confidence), so a same-vs-same run fails with at most
    1 - confidence, however many benchmarks it judges.

    status: CHANGED (a deterministic result differs: exit 1 whatever the load), REGRESSION
    (a benchmark slower: exit 1), DISTURBED (a benchmark slower, but the load changed by more
    than load_change over the run or a pair straddled a jump after its retries: exit 0, rerun on
    a quieter machine), PASS (exit 0)."""
    ratios = {name: ab_stats.paired_ratios(s["A"], s["B"]) for name, s in samples.items()}
    family = ab_stats.family_size(ratios.values())
    level = ab_stats.family_confidence(confidence, family)
    rows = []
    for name in sorted(samples):
        s = samples[name]
        row = ab_stats.analyse_ratios(ratios[name], s["higher_is_better"], min_effect, level)
        row.update(name=name, unit=s["unit"], a_median=ab_stats.median(s["A"]),
                   b_median=ab_stats.median(s["B"]))
        rows.append(row)
    checks = [{"name": name, "A": v["A"], "B": v["B"],
               "verdict": ab_stats.exact_check(v["A"], v["B"])}
              for name, v in sorted(exact.items())]
    values = [x for rec in loads for x in (rec["before"], rec["after"]) if x is not None]
    load_range = (min(values), max(values)) if values else (None, None)
    jumped = [rec for rec in loads if rec["disturbed"]]
    disturbed = bool(jumped) or (bool(values) and max(values) - min(values) > load_change)
    slower = [r for r in rows if r["verdict"] == ab_stats.SLOWER]
    if any(c["verdict"] == "CHANGED" for c in checks):
        status = "CHANGED"
    elif slower and disturbed:
        status = "DISTURBED"
    elif slower:
        status = "REGRESSION"
    else:
        status = "PASS"
    return {"status": status, "family_size": family, "benchmark_confidence": level,
            "rows": rows, "checks": checks, "disturbed": disturbed,
            "load_range": load_range, "pairs_disturbed": len(jumped),
            "retries": sum(rec["attempts"] - 1 for rec in loads)}


def exit_code(status):
    return 1 if status in ("CHANGED", "REGRESSION") else 0


def fmt(x):
    return "-" if x is None else "%.4g" % x


def pct(x):
    return "-" if x is None else "%+.1f%%" % (100 * x)


def flags_of(version):
    """The `flags:` line of a `psgd --version` text, or None."""
    for line in (version or "").splitlines():
        if line.startswith("flags:"):
            return line[len("flags:"):].strip()
    return None


def table(document):
    """Header lines and one row per benchmark and per exact check, as lists of cells."""
    v = document["verdict"]
    s = document["settings"]
    lo, hi = v["load_range"]
    head = [
        "A: %s   B: %s" % (document["builds"]["A"]["label"], document["builds"]["B"]["label"]),
        "%d pairs (A B B A ..., each a fresh process); median paired ratio with its sign-test "
        "interval, simultaneous at %.0f%% over %s distinct series (each at %s%%); slower: the "
        "interval wholly beyond a %.0f%% slowdown" % (
            s["pairs"], 100 * s["confidence"], v.get("family_size", "?"),
            "%.3f" % (100 * v["benchmark_confidence"]) if "benchmark_confidence" in v else "?",
            100 * s["min_effect"]),
        "load average %s-%s; %d pair(s) repeated for a load jump > %g, %d still disturbed; "
        "disturbed when the load moves by more than %g" % (
            fmt(lo), fmt(hi), v["retries"], s["load_jump"], v["pairs_disturbed"],
            s["load_change"]),
    ]
    # The builds' flags where both are known and differ (a slowed build says so).
    flags = {side: flags_of(document["builds"][side].get("version")) for side in ("A", "B")}
    if flags["A"] and flags["B"] and flags["A"] != flags["B"]:
        head.append("flags differ: A %s; B %s" % (flags["A"], flags["B"]))
    if any(r["verdict"] == ab_stats.TOO_FEW for r in v["rows"]):
        head.append("TOO FEW PAIRS: %s distinct series at this confidence need %d pairs or more: "
                    "nothing judged" % (v.get("family_size", "?"), ab_stats.min_pairs(
                        s["confidence"], v.get("family_size", 1))))
    header = ["benchmark", "unit", "A median", "B median", "B/A", "interval", "B slower by",
              "detectable", "verdict"]
    body = []
    for r in v["rows"]:
        interval = "-" if r["low"] is None else "%.3f-%.3f" % (r["low"], r["high"])
        body.append([r["name"], r["unit"], fmt(r["a_median"]), fmt(r["b_median"]),
                     "%.3f" % r["ratio"], interval, pct(r["slowdown"]),
                     "-" if r["detectable"] is None else "%.1f%%" % (100 * r["detectable"]),
                     r["verdict"]])
    for c in v["checks"]:
        body.append([c["name"], "exact", repr(c["A"][0]) if c["A"] else "-",
                     repr(c["B"][0]) if c["B"] else "-", "-", "-", "-", "exact", c["verdict"]])
    counts = {}
    for r in v["rows"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    changed = sum(c["verdict"] == "CHANGED" for c in v["checks"])
    foot = "%d compared: %s; %d exact, %d CHANGED -> %s" % (
        len(v["rows"]), ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())),
        len(v["checks"]), changed, v["status"])
    return head, header, body, foot


def as_text(document):
    head, header, body, foot = table(document)
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    lines = head + [""]
    for row in [header] + body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines + ["", foot]) + "\n"


def as_markdown(document):
    head, header, body, foot = table(document)
    lines = ["# Nightly A/B: %s" % document["verdict"]["status"], ""]
    lines += ["* " + h for h in head] + [""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in body:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines + ["", foot]) + "\n"
