#!/usr/bin/python3
"""One self-contained HTML page of sweep folders and run documents: what `psgd report` runs.

usage: report.py DIR_OR_RUN... --out FILE.html [--figures DIR]... [--title TEXT]

Per source (a sweep folder, or the run documents given, joined into one): the spec and its
claim, provenance (build, machine, load, dates), status counts, a sortable and filterable table
of every run (the index), the sweep's figures (FIG.png from the folder itself and each
--figures DIR, with FIG.caption.md beside it as the caption) and each point's loss and accuracy
curves (inline SVG). Several sources are shown side by side. Everything is inlined (figures as
data: URIs, SVG, CSS and the table's script), so the page fetches nothing: it works from a
file:// URL, offline and as a CI artefact.

Exit codes: 0 written, 2 bad input (a path that is no sweep folder or run document), 3 the
output cannot be written or a Python package is missing.
"""

import argparse
import base64
import datetime
import math
import os
import re
import sys
import tempfile

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

# Exit 3, not the figure scripts' 2: `psgd report` documents 3 for a missing Python package.
exit_if_missing("jinja2", "matplotlib", "numpy", "pandas", code=3)

import jinja2  # noqa: E402
import markupsafe  # noqa: E402  (jinja2's own dependency)

from plots import report_curves  # noqa: E402
from plots import report_sources  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

TEMPLATE = "report.html.j2"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("paths", nargs="+", metavar="DIR_OR_RUN",
                        help="a sweep folder (with index.csv) or a run document (.json)")
    parser.add_argument("--out", required=True, metavar="FILE.html", help="the page to write")
    parser.add_argument("--figures", action="append", default=[], metavar="DIR",
                        help="also look for each sweep's figures (SPEC.png, SPEC_*.png) here")
    parser.add_argument("--title", default=None, help="the page's title")
    return parser.parse_args(argv)


def display(text):
    """A table cell as shown: numbers to 4 significant digits, the rest as written."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    if not math.isfinite(value) or value == int(value) and abs(value) < 1e15:
        return text
    return f"{value:.4g}"


def caption_html(text):
    """A FIG.caption.md as HTML: the text escaped, then its **bold** and `code` spans and its
    paragraphs (blank lines) marked up; the captions use nothing more of Markdown."""
    html = str(markupsafe.escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return markupsafe.Markup("".join(f"<p>{p.strip()}</p>" for p in re.split(r"\n\s*\n", html)
                                     if p.strip()))


def embed_figures(source):
    for figure in source["figures"]:
        with open(figure["path"], "rb") as f:
            figure["data_uri"] = "data:image/png;base64," + base64.b64encode(f.read()).decode()


def draw_curves(source, index):
    source["curves"] = []
    for point, runs in source["points"].items():
        source["curves"].append({
            "point": point,
            "anchor": f"s{index}-{point}",
            "runs": runs,
            "svg": report_curves.point_svg(runs, salt=f"s{index}-{point}"),
        })


def render(sources, title):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["display"] = display
    env.filters["caption"] = caption_html
    words = []
    for source in sources:
        source["status_map"] = dict(source["status_counts"])
        source["provenance_map"] = dict(source["provenance"])
        words += [w for w, _ in source["status_counts"] if w not in words]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return env.get_template(TEMPLATE).render(sources=sources, title=title, generated=now,
                                             status_words=words,
                                             side_by_side=2 <= len(sources) <= 3)


def write_atomically(path, text):
    """Writes `path` through a temporary file in its folder, so a reader never sees half."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    args = parse_args(argv)
    inputs = {os.path.realpath(p) for p in args.paths}
    if os.path.realpath(args.out) in inputs or not args.out.endswith(".html"):
        print(f"report: --out {args.out}: give a new .html file, not an input", file=sys.stderr)
        return 2
    try:
        sources = report_sources.gather(args.paths, args.figures)
    except report_sources.InputError as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError) as error:  # a malformed index.csv or sweep.json
        what = f"no column {error}" if isinstance(error, KeyError) else str(error)
        print(f"report: {', '.join(args.paths)}: unreadable sweep files ({what})", file=sys.stderr)
        return 2
    for i, source in enumerate(sources):
        try:
            embed_figures(source)
            draw_curves(source, i)
        except OSError as error:  # a figure that vanished or cannot be read
            print(f"report: {source['path']}: cannot read a figure ({error})", file=sys.stderr)
            return 3
    title = args.title or "psgd report: " + ", ".join(s["title"] for s in sources)
    try:
        write_atomically(args.out, render(sources, title))
    except OSError as error:
        print(f"report: cannot write {args.out}: {error}", file=sys.stderr)
        return 3
    runs = sum(len(s["rows"]) for s in sources)
    print(f"report: {args.out}: {len(sources)} source(s), {runs} run(s), "
          f"{os.path.getsize(args.out) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
