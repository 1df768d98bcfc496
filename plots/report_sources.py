"""What `psgd report` shows of one source: a sweep folder (its index, plan, run documents and the
figures drawn from it) or a list of run documents, gathered into plain dicts for the template.

Reads results as psgd writes them (docs/sweeps.md, "Run ids, results and resuming"); nothing
here draws.
"""

import glob
import json
import os
import re
from collections import Counter, OrderedDict

from plots import psgd_results

# The status words of psgd run, in the order the report counts them; a word psgd adds later is
# counted after these rather than dropped.
STATUS_ORDER = ("converged", "not_converged", "diverged", "invalid", "crashed")

# The provenance fields of a `context` block, in reading order, with their labels.
CONTEXT_FIELDS = (
    ("git_sha", "git commit"), ("git_dirty", "uncommitted changes"),
    ("build_type", "build type"), ("compiler", "compiler"), ("cxx_flags", "flags"),
    ("sanitizer", "sanitizer"), ("cpu", "CPU"), ("hardware_threads", "hardware threads"),
    ("host", "host"), ("governor", "governor"),
)

# The columns of the table of loose run documents (a sweep's table is its index.csv).
RUN_COLUMNS = (
    "run_id", "file", "algo", "threads", "batch", "step", "model", "dataset", "status",
    "stop_reason", "wall_seconds", "final_train_loss", "final_test_loss", "final_test_accuracy",
    "samples_per_second", "staleness_mean", "build_id", "git_sha",
)


class InputError(Exception):
    """A path that is neither a sweep folder nor a run document (exit 2)."""


def is_sweep_folder(path):
    return os.path.isdir(path) and os.path.exists(os.path.join(path, "index.csv"))


def read_document(path):
    """A run document, or InputError naming what is wrong with it."""
    try:
        doc = psgd_results.load_run(path)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable run document ({error})") from error
    if not isinstance(doc, dict) or "schema_version" not in doc or "status" not in doc:
        raise InputError(f"{path}: not a psgd run document (no schema_version or status)")
    return doc


def status_counts(statuses):
    """[(status, count)] in STATUS_ORDER (zeros included), then any other word seen."""
    counts = Counter(statuses)
    words = list(STATUS_ORDER) + sorted(w for w in counts if w not in STATUS_ORDER)
    return [(w, counts.get(w, 0)) for w in words]


def provenance(context, docs, plan):
    """[(label, value)] of the build and machine, and the dates and load over the runs."""
    out = []
    if plan.get("build_id"):
        out.append(("build id", plan["build_id"]))
    builds = Counter((d.get("sweep") or {}).get("build_id") for d in docs)
    builds.pop(None, None)
    if len(builds) > 1 or (builds and plan.get("build_id") not in builds):
        out.append(("runs per build", ", ".join(f"{b}: {n}" for b, n in sorted(builds.items()))))
    for key, label in CONTEXT_FIELDS:
        if key in context and context[key] not in (None, ""):
            out.append((label, str(context[key]).lower() if key == "git_dirty" else context[key]))
    machines = Counter(
        "{} ({} hardware threads, host {})".format(
            d["context"].get("cpu", "?"), d["context"].get("hardware_threads", "?"),
            d["context"].get("host", "?"))
        for d in docs if d.get("context"))
    if len(machines) > 1:
        out.append(("machines", "; ".join(f"{m}: {n} runs" for m, n in machines.items())))
    dates = sorted(d["context"]["date"] for d in docs if (d.get("context") or {}).get("date"))
    if dates:
        out.append(("run dates (UTC)", dates[0] if dates[0] == dates[-1]
                    else f"{dates[0]} to {dates[-1]}"))
    loads = [d["context"]["load_avg"][0] for d in docs
             if len((d.get("context") or {}).get("load_avg") or []) > 0]
    if loads:
        out.append(("1-minute load at run start", f"{min(loads):.2f} to {max(loads):.2f}"))
    if plan.get("psgd"):
        out.append(("psgd binary", plan["psgd"]))
    return out


def figures_of(name, folders):
    """[{path, png, caption}] of the figures of spec `name` (<name>.png and <name>_*.png) found
    in `folders`, each with its caption from FIG.caption.md where that file exists."""
    out, seen = [], set()
    for folder in folders:
        paths = [os.path.join(folder, f"{name}.png")] + sorted(
            glob.glob(os.path.join(glob.escape(folder), f"{name}_*.png")))
        for path in paths:
            stem = os.path.basename(path)[: -len(".png")]
            if not os.path.exists(path) or stem in seen:
                continue
            seen.add(stem)
            caption_path = path[: -len(".png")] + ".caption.md"
            caption = None
            if os.path.exists(caption_path):
                with open(caption_path, encoding="utf-8") as f:
                    caption = f.read().strip()
            out.append({"name": stem, "path": path, "caption": caption})
    return out


def _point_groups(entries):
    """OrderedDict point id -> [(run_id, repetition, status, series)] in index order."""
    points = OrderedDict()
    for point, run_id, repetition, status, doc in entries:
        series = psgd_results.series_rows(doc) if doc else []
        points.setdefault(point, []).append((run_id, repetition, status, series))
    return points


def _run_documents_in(folder):
    """The runs of a superseded/<build> folder: its <run-id>.json files, not the sweep.json the
    sweep writes there nor <run-id>.<N>.json (a later copy of a run moved there twice)."""
    names = (os.path.basename(p) for p in glob.glob(os.path.join(glob.escape(folder), "*.json")))
    return sum(1 for n in names
               if n != "sweep.json" and not re.fullmatch(r".*\.[0-9]+\.json", n))


def sweep_source(folder, figure_dirs):
    """One sweep folder as the template's dict (see template: plots/report.html.j2)."""
    columns, rows = psgd_results.read_index_rows(folder)
    rows = [{c: row.get(c, "") for c in columns} for row in rows]
    plan = psgd_results.read_plan(folder)
    spec = plan.get("spec") or {}
    docs, entries = [], []
    for row in rows:
        path = os.path.join(folder, row.get("file") or "")
        doc = None
        if row.get("file") and os.path.exists(path):
            try:
                doc = psgd_results.load_run(path)
            except (OSError, ValueError):
                doc = None  # the index still lists it; its curves say none were readable
        if doc:
            docs.append(doc)
        entries.append((row.get("point_id") or row["run_id"], row["run_id"],
                        row.get("repetition", ""), row.get("status", ""), doc))
    name = spec.get("name") or plan.get("name") or ""
    superseded = sorted(
        (os.path.basename(d), _run_documents_in(d))
        for d in glob.glob(os.path.join(glob.escape(folder), "superseded", "*"))
        if os.path.isdir(d))
    return {
        "kind": "sweep",
        "title": plan.get("sweep") or os.path.basename(os.path.normpath(folder)),
        "path": folder,
        "claim": spec.get("claim") or plan.get("claim"),
        "description": spec.get("description") or plan.get("description"),
        "spec_file": plan.get("spec_file"),
        "scale": plan.get("scale"),
        "axes": plan.get("axes", []),
        "spec_json": json.dumps(spec, indent=2, sort_keys=True) if spec else None,
        "provenance": provenance(plan.get("context") or (docs[0].get("context") if docs else {})
                                 or {}, docs, plan),
        "status_counts": status_counts(r.get("status", "") for r in rows),
        "columns": columns,
        "rows": rows,
        "figures": figures_of(name, [folder] + list(figure_dirs)) if name else [],
        "points": _point_groups(entries),
        "superseded": superseded,
    }


def documents_source(paths):
    """Run documents given one by one, as one source with a table of RUN_COLUMNS."""
    docs = [read_document(p) for p in paths]
    rows, entries = [], []
    for path, doc in zip(paths, docs):
        config, metrics = doc.get("config") or {}, doc.get("metrics") or {}
        sweep = doc.get("sweep") or {}
        run_id = sweep.get("run_id") or os.path.basename(path)[: -len(".json")]
        values = dict(config)
        values.update(metrics)
        values.update({
            "run_id": run_id, "file": path, "status": doc.get("status", ""),
            "stop_reason": doc.get("stop_reason", ""),
            "samples_per_second": (doc.get("throughput") or {}).get("samples_per_second"),
            "staleness_mean": (doc.get("staleness") or {}).get("mean"),
            "build_id": sweep.get("build_id"),
            "git_sha": (doc.get("context") or {}).get("git_sha"),
        })
        rows.append({c: "" if values.get(c) is None else str(values.get(c)) for c in RUN_COLUMNS})
        entries.append((run_id, run_id, sweep.get("repetition", ""), doc.get("status", ""), doc))
    context = docs[0].get("context") or {}
    return {
        "kind": "documents",
        "title": f"{len(docs)} run document(s)",
        "path": ", ".join(paths),
        "claim": None, "description": None, "spec_file": None, "scale": None, "axes": [],
        "spec_json": None,
        "provenance": provenance(context, docs, {}),
        "status_counts": status_counts(d.get("status", "") for d in docs),
        "columns": list(RUN_COLUMNS),
        "rows": rows,
        "figures": [],
        "points": _point_groups(entries),
        "superseded": [],
    }


def gather(paths, figure_dirs):
    """The sources of `paths` in order: each sweep folder its own, every run document given
    joined into one source where the first of them stands. InputError for anything else."""
    sources, documents, documents_at = [], [], None
    for path in paths:
        if is_sweep_folder(path):
            sources.append(sweep_source(path, figure_dirs))
        elif os.path.isfile(path) and path.endswith(".json"):
            documents.append(path)
            documents_at = len(sources) if documents_at is None else documents_at
        elif os.path.isdir(path):
            raise InputError(f"{path}: a folder without index.csv is no sweep folder (run "
                             "`psgd sweep` or `psgd sweep SPEC --collect` first)")
        else:
            raise InputError(f"{path}: neither a sweep folder (with index.csv) nor a run "
                             "document (.json)")
    if documents:
        sources.insert(documents_at, documents_source(documents))
    return sources
