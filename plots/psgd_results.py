"""Load psgd results into pandas DataFrames: a run, a sweep, histograms and series.

The one reader of what `psgd run` and `psgd sweep` write; every figure script and
plots/export_csv.py go through it. Three lines draw a custom figure from a sweep (from the
repository root, or anywhere with PYTHONPATH=PREFIX/share/psgd/python after `make install`):

    from plots import psgd_results
    runs = psgd_results.load_sweep("results/threads-quick")
    runs.groupby(["threads", "method"]).samples_per_second.median().unstack().plot(marker="o")

Frames (all in long format: one row per observation, keyed by `run_id`):
  load_sweep(dir)       one row per run: index.csv's columns (numbers as numbers, empty cells
                        as NaN) plus `method` (the algorithm with the options that make it another
                        method, e.g. "mutex (os lock)") and `finished` (False for invalid/crashed
                        runs, which have no metrics). Columns a sweep lacks are NaN, not missing;
                        `ranks` (MPI processes of the run, a spec's `ranks` key) is 1 in an index
                        without that column: such a sweep ran every run in one process.
  load_run(path)        one run document as a dict (the JSON of `psgd run --out`), in the
                        current schema whatever psgd wrote it (see read_document).
  runs_frame(docs)      one row per run document: its scalar fields flattened ("metrics.
                        final_train_loss", "throughput.samples_per_second", ...).
  histograms(dir)       one row per (run, histogram, worker, k): `histogram` is "staleness"
                        (staleness tau of applied updates) or "failed_attempts" (failed RMWs of
                        one update); `worker` is the worker's index, or -1 for the whole run
                        (the per-worker rows add up to it); `count` updates had the value `k`;
                        the row with `overflow` True counts the updates with k >= `bins` (k is
                        set to `bins`, the first value past the exact bins).
  series(dir)           one row per (run, evaluated snapshot): seconds, updates, epoch,
                        train_loss, test_loss, test_accuracy, running_loss.
  efficiency(dir)       one row per (run, target): `kind` ("epsilon" or "accuracy"), `target`
                        (its label), `passes_to_target` (statistical efficiency: the series'
                        epoch of the first snapshot that reached it; NaN when not reached),
                        `seconds_per_pass` (hardware efficiency: wall seconds / passes done)
                        and `time_to_target`; computed from each run document as psgd does
                        (harness/run/efficiency.hpp), so sweeps written before index.csv had
                        the `seconds_per_pass` and `passes_to_*` columns have it too.
  export_csv(dir, out)  runs.csv, histograms.csv and series.csv of a sweep, for R or a
                        spreadsheet (plots/export_csv.py is its command line).
  builds(dir)           {build: folder} of every build whose results a sweep folder keeps:
                        "current" (the folder) and each superseded/<build id>/ (results redone
                        with a newer build; psgd sweep gives each its own index.csv and
                        sweep.json, so load_sweep and every figure's --results read it alone).
  load_builds(dir)      load_sweep of every build, concatenated, with a `build` column.

The sweep frames carry the identifying columns of each run (`method`, the sweep's axes,
`threads`, `batch`, `status`) so a groupby needs no merge. Columns of true/false cells
(`oversubscribed`, `epsilon_reached_<label>`) are booleans (pandas' nullable "boolean" where a
run has no value), numbers are numbers; an index.csv or a document written before schema 3 reads
as the current one (the `config` keys in snake_case, `failed_attempts_per_update_mean`). Needs
pandas (Debian's python3-pandas, installed by `make plots-deps`); run under /usr/bin/python3.
"""

import csv
import json
import math
import os

from plots.missing_modules import exit_if_missing

exit_if_missing("pandas")  # one clear line rather than a traceback

import pandas as pd  # noqa: E402

# Statuses of a run that did not finish: `invalid` refused its configuration (exit 2), `crashed`
# died (signal, timeout, unexpected exit); neither has metrics. `stopped`: SIGINT or SIGTERM
# stopped it part-way (exit 130 or 143); its metrics describe a part of its budget, so the figures
# leave it out with the others, and a sweep redoes it on resume. Any other status word is a
# finished run.
UNFINISHED = ("invalid", "crashed", "stopped")

# The run document's schema version this loader reads every document as (read_document).
SCHEMA_VERSION = 3

# index.csv columns renamed since: {old name: current name}.
RENAMED_COLUMNS = {"failed_attempts_per_update": "failed_attempts_per_update_mean"}

# The run options besides the algorithm that make it another method (see method_name()).
METHOD_OPTIONS = ("lock", "test-before-cas")

# Index columns the figure scripts read; a sweep written by an older or newer psgd may lack
# some, and they then read as empty rather than raising KeyError.
EXPECTED_COLUMNS = (
    "run_id", "point_id", "repetition", "algo", "lock", "test-before-cas", "placement",
    "threads", "batch", "step", "memory", "status", "stop_reason", "wall_seconds",
    "final_train_loss", "final_test_accuracy", "updates_applied", "updates_computed",
    "updates_per_second", "samples_per_second", "staleness_mean", "staleness_p50",
    "staleness_p99", "staleness_max", "failed_attempts", "failed_attempts_per_update_mean",
    "lock_wait_seconds", "backoff_seconds", "dropped_gradients", "peak_rss_bytes",
    "oversubscribed", "file",
)

# The columns of psgd_results.efficiency after the run's identifying ones.
EFFICIENCY_FIELDS = ("kind", "target", "passes_to_target", "seconds_per_pass", "time_to_target")

# The columns of a sweep's run frame carried into the histogram and series frames.
ID_COLUMNS = (
    "run_id", "method", "algo", "threads", "ranks", "batch", "step", "placement", "status",
)

SERIES_FIELDS = (
    "seconds", "updates", "epoch", "train_loss", "test_loss", "test_accuracy", "running_loss",
)


def read_plan(folder):
    """sweep.json of a sweep folder as a dict ({} when absent)."""
    path = os.path.join(folder, "sweep.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def plan_base(plan):
    """The options every run of a sweep got (the resolved spec's `base`)."""
    return dict(plan.get("spec", {}).get("base", {}))


def read_index_rows(folder):
    """(columns, rows) of a sweep's index.csv, every cell as its text; EXPECTED_COLUMNS a sweep
    lacks are added as empty cells, and the METHOD_OPTIONS the spec sets in its base (so they are
    not index columns) are filled in from sweep.json. Exits with one line when there is no
    index."""
    index = os.path.join(folder, "index.csv")
    if not os.path.exists(index):
        raise SystemExit(f"{index} not found: run `psgd sweep` first")
    with open(index, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = [RENAMED_COLUMNS.get(c, c) for c in reader.fieldnames or []]
        rows = [{RENAMED_COLUMNS.get(k, k): v for k, v in row.items()} for row in reader]
    base = plan_base(read_plan(folder))
    for key in METHOD_OPTIONS:
        if key not in columns and key in base:
            value = base[key]
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            for row in rows:
                row[key] = text
    for row in rows:
        for key in EXPECTED_COLUMNS:
            row.setdefault(key, "")
            if row[key] is None:  # a short row
                row[key] = ""
        if not row.get("ranks"):  # psgd sweep writes the column only for sweeps that set ranks
            row["ranks"] = "1"
    return columns, rows


def method_name(row):
    """The method of a run: its algorithm, with ' (os lock)' where --lock os was set and
    ' (test-before-cas)' where that was. `row`: a mapping of index columns (text or values)."""
    name = str(row.get("algo", "") or "")
    if str(row.get("lock", "")) == "os":
        name += " (os lock)"
    if str(row.get("test-before-cas", "")).lower() == "true":
        name += " (test-before-cas)"
    return name


def _cell(text):
    """An index cell as a number where it is one (inf included), else its text (None if empty)."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _booleans(column):
    """A column whose cells are all "true"/"false" (or empty) as booleans: bool when none is
    empty, else pandas' nullable "boolean"; any other column unchanged."""
    if column.dtype != object:
        return column
    present = column.dropna()
    words = present.astype(str).str.lower()
    if present.empty or not words.isin(("true", "false")).all():
        return column
    values = column.map(lambda v: None if v is None or v != v else str(v).lower() == "true")
    return values.astype(bool) if len(present) == len(column) else values.astype("boolean")


def load_sweep(folder):
    """One row per run of a sweep folder (see the module's doc)."""
    columns, rows = read_index_rows(folder)
    names = list(dict.fromkeys(columns + [k for row in rows[:1] for k in row]))
    names += [c for c in EXPECTED_COLUMNS if c not in names]
    frame = pd.DataFrame([{k: _cell(v) for k, v in row.items()} for row in rows], columns=names)
    for name in frame.columns:  # a column of numbers (and empty cells) becomes numeric
        converted = pd.to_numeric(frame[name], errors="coerce")
        if converted.notna().sum() != frame[name].notna().sum():
            continue  # some text: keep the column's text
        whole = converted.dropna()
        finite = whole.abs() != math.inf  # a persistence bound may be inf
        if len(whole) == len(converted) and len(whole) and finite.all() and (
            whole == whole.round()
        ).all():
            converted = converted.astype("int64")  # counts and thread numbers print as 4, not 4.0
        frame[name] = converted
    for name in frame.columns:
        frame[name] = _booleans(frame[name])
    frame["method"] = [method_name(r) for r in rows]
    frame["finished"] = ~frame["status"].isin(UNFINISHED)
    # Unknown (an older sweep without the column, a crashed run) reads as not oversubscribed.
    frame["oversubscribed"] = frame["oversubscribed"].astype(str).str.lower() == "true"
    frame.attrs["folder"] = folder
    return frame


def load_run(path):
    """One run document (psgd run's JSON) as a dict, read as the current schema (read_document)."""
    with open(path, encoding="utf-8") as f:
        return read_document(json.load(f))


def read_document(doc):
    """A run document of any schema version as the current one (SCHEMA_VERSION): before 3, the
    `config` keys were the option names (`batch-order`), now snake_case (`batch_order`), and an
    unset option was null where it is now "none" (--time-limit, --gradients, --updates, and
    --epochs beside another budget or a time limit), "auto" (--updates-per-epoch) or 1 (--epochs
    when nothing else bounds the run); --target-accuracy was "" where it is "none". The document's own schema_version is
    kept in `source_schema_version`. Anything that is not such a document is returned as it
    is."""
    if not isinstance(doc, dict) or not isinstance(doc.get("schema_version"), int):
        return doc
    version = doc["schema_version"]
    if version >= SCHEMA_VERSION or not isinstance(doc.get("config"), dict):
        return doc
    doc = dict(doc)
    config = {key.replace("-", "_"): value for key, value in doc["config"].items()}
    # A time limit alone was a time budget, not one epoch.
    budgets = [k for k in ("gradients", "updates", "time_limit") if config.get(k) is not None]
    if config.get("epochs") is None and "epochs" in config:
        config["epochs"] = "none" if budgets else 1.0
    for key in ("gradients", "updates", "time_limit"):
        if key in config and config[key] is None:
            config[key] = "none"
    if "updates_per_epoch" in config and config["updates_per_epoch"] is None:
        config["updates_per_epoch"] = "auto"
    if config.get("target_accuracy") == "":
        config["target_accuracy"] = "none"
    if "batch_order" in config and config["batch_order"] is None:
        config["batch_order"] = "default"
    doc["config"] = config
    doc["source_schema_version"] = version
    doc["schema_version"] = SCHEMA_VERSION
    return doc


def run_documents(folder, runs=None):
    """{run_id: document} of a sweep's runs whose document exists (crashed runs included)."""
    runs = load_sweep(folder) if runs is None else runs
    docs = {}
    for run_id, file in zip(runs["run_id"], runs["file"]):
        if isinstance(file, str) and os.path.exists(os.path.join(folder, file)):
            docs[run_id] = load_run(os.path.join(folder, file))
    return docs


def runs_frame(docs):
    """One row per run document, scalar fields flattened with '.' (lists are left out)."""
    rows = []
    for doc in docs:
        flat = pd.json_normalize(doc, sep=".").iloc[0].to_dict()
        rows.append({k: v for k, v in flat.items() if not isinstance(v, list)})
    return pd.DataFrame(rows)


def histogram_blocks(doc):
    """(histogram name, worker or -1, block) of every histogram in a run document."""
    staleness = doc.get("staleness") or {}
    if staleness:
        yield "staleness", -1, staleness
        for i, block in enumerate(staleness.get("per_worker") or []):
            yield "staleness", int(block.get("worker", i)), block
    attempts = (doc.get("contention") or {}).get("failed_attempts_per_update") or {}
    if attempts:
        yield "failed_attempts", -1, attempts


def histogram_rows(doc):
    """The long-format rows (histogram, worker, k, count, overflow) of one run document."""
    out = []
    for name, worker, block in histogram_blocks(doc):
        counts = block.get("histogram") or []
        for k, n in enumerate(counts):
            out.append((name, worker, k, int(n), False))
        if block.get("overflow"):
            bins = int(block.get("bins") or len(counts))
            out.append((name, worker, bins, int(block["overflow"]), True))
    return out


def _with_ids(records, columns, runs):
    frame = pd.DataFrame.from_records(records, columns=["run_id"] + list(columns))
    ids = [c for c in ID_COLUMNS if c in runs.columns] + [
        a for a in runs.attrs.get("axes", []) if a in runs.columns and a not in ID_COLUMNS
    ]
    return runs[ids].merge(frame, on="run_id", how="inner")


def histograms(folder, runs=None, docs=None):
    """Every histogram of every run of a sweep, long format (see the module's doc)."""
    runs = _runs_with_axes(folder, runs)
    docs = run_documents(folder, runs) if docs is None else docs
    records = [(run_id,) + r for run_id, doc in docs.items() for r in histogram_rows(doc)]
    return _with_ids(records, ("histogram", "worker", "k", "count", "overflow"), runs)


def series_rows(doc):
    """(seconds, updates, ...) per evaluated snapshot of a run document, in SERIES_FIELDS order;
    missing or null fields are NaN."""
    out = []
    for point in doc.get("series") or []:
        values = [point.get(k) for k in SERIES_FIELDS]
        out.append(tuple(math.nan if v is None else v for v in values))
    return out


def series(folder, runs=None, docs=None):
    """Every evaluated snapshot of every run of a sweep, long format (see the module's doc)."""
    runs = _runs_with_axes(folder, runs)
    docs = run_documents(folder, runs) if docs is None else docs
    records = [(run_id,) + r for run_id, doc in docs.items() for r in series_rows(doc)]
    return _with_ids(records, SERIES_FIELDS, runs)


def document_efficiency(doc):
    """(kind, target, passes_to_target, seconds_per_pass, time_to_target) per target of a run
    document: the efficiency split of harness/run/efficiency.hpp, NaN where unknown."""
    series_points = doc.get("series") or []
    metrics = doc.get("metrics") or {}
    passes = series_points[-1].get("epoch") if series_points else None
    wall = metrics.get("wall_seconds")
    per_pass = wall / passes if passes and wall is not None else math.nan
    epoch_at = {p.get("updates"): p.get("epoch") for p in reversed(series_points)}
    out = []
    for kind, times, updates in (("epsilon", "time_to_epsilon", "updates_to_epsilon"),
                                 ("accuracy", "time_to_accuracy", "updates_to_accuracy")):
        for label, seconds in (metrics.get(times) or {}).items():
            reached = seconds is not None
            at = (metrics.get(updates) or {}).get(label)
            to_target = epoch_at.get(at) if reached else None
            out.append((kind, label, math.nan if to_target is None else to_target, per_pass,
                        math.nan if seconds is None else seconds))
    return out


def efficiency(folder, runs=None, docs=None):
    """The efficiency split of every run and target of a sweep, long format (see the module's
    doc)."""
    runs = _runs_with_axes(folder, runs)
    docs = run_documents(folder, runs) if docs is None else docs
    records = [(run_id,) + r for run_id, doc in docs.items() for r in document_efficiency(doc)]
    return _with_ids(records, EFFICIENCY_FIELDS, runs)


def _runs_with_axes(folder, runs):
    runs = load_sweep(folder) if runs is None else runs
    runs.attrs.setdefault("axes", list(read_plan(folder).get("axes", [])))
    return runs


def export_csv(folder, out):
    """Writes out/runs.csv, out/histograms.csv and out/series.csv of a sweep; returns the paths."""
    os.makedirs(out, exist_ok=True)
    runs = _runs_with_axes(folder, None)
    docs = run_documents(folder, runs)
    frames = {
        "runs": runs,
        "histograms": histograms(folder, runs, docs),
        "series": series(folder, runs, docs),
    }
    paths = []
    for name, frame in frames.items():
        path = os.path.join(out, name + ".csv")
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def builds(folder):
    """{build: folder} of a sweep's builds: "current" first, then every superseded/<build id>/
    that has an index (see the module's doc), by name."""
    out = {"current": folder}
    root = os.path.join(folder, "superseded")
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name)
            if os.path.exists(os.path.join(path, "index.csv")):
                out[name] = path
    return out


def load_builds(folder):
    """One row per run of every build of a sweep folder (load_sweep of each, concatenated), with
    `build` ("current" or the superseded build's id) and `file` relative to the sweep folder."""
    frames = []
    for build, path in builds(folder).items():
        frame = load_sweep(path)
        frame.insert(0, "build", build)
        if build != "current":
            frame["file"] = [
                os.path.join("superseded", build, f) if isinstance(f, str) else f
                for f in frame["file"]
            ]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["folder"] = folder
    return out
