"""The run document's JSON Schema (harness/run/run_document.schema.json) against what psgd writes.

One process, so that it stays fast (3.7 s, 2 s of CPU, on the shared 2-core machine): it checks
that the schema is itself valid draft-07 and gives every field a description, then validates
  - every committed run document under results/examples (schema versions 1 and 2: old documents
    must stay valid), and
  - the documents this build writes: a short run of every algorithm `psgd run --help` lists (two
    threads), the step rules, a time-limited run, a dry run, an error document and a run stopped
    by SIGINT.
A field psgd writes without a schema entry fails (additionalProperties is false wherever the
keys are fixed), as does a schema-3 config block that lacks an option or holds a null.

Usage: run_document_schema_test.py --psgd BUILD/psgd [--root REPO]
Needs python3-jsonschema (Debian); run it with /usr/bin/python3.
"""

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("SKIPPED: python3-jsonschema is missing (make test-deps)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--dataset", "synthetic-dense:1024x16x4", "--model", "mlp:8", "--batch", "16",
        "--step", "0.05", "--epochs", "0.5", "--checkpoints", "2", "--placement", "none"]
# Settings beyond one run per algorithm that add fields of their own.
EXTRA_RUNS = [
    ["--algo", "hogwild", "--threads", "2", "--step-rule", "mindthestep", "--mts-lambda", "0.5"],
    ["--algo", "leashed", "--threads", "2", "--step-rule", "tail", "--persistence", "1",
     "--backoff", "exponential"],
    ["--algo", "hogwild-atomic", "--threads", "2", "--slowdown", "1:2", "--delay", "fixed:1"],
    ["--algo", "seq", "--threads", "1", "--target-accuracy", "0.2"],
    ["--algo", "param-server", "--threads", "1"],  # no server slot: null
    ["--algo", "replicated", "--threads", "2", "--replicas", "per-core", "--exchange-every", "8"],
    ["--algo", "replicated", "--threads", "2", "--replicas", "2", "--exchange", "ring",
     "--inner", "leashed", "--exchange-every", "8"],
]


def described(schema, path="#"):
    """Paths of the schema's fields (entries of `properties`) that have no description."""
    missing = []
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and "description" not in sub:
                missing.append(f"{path}/properties/{name}")
        for key, sub in schema.items():
            if key != "allOf":  # the conditions that pick a version's or a status's rules
                missing += described(sub, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            missing += described(sub, f"{path}/{i}")
    return missing


def algorithms(psgd):
    """The algorithm names of `psgd run --help`'s 'Options each algorithm accepts' list."""
    text = subprocess.run([psgd, "run", "--help"], check=True, capture_output=True,
                          text=True).stdout
    lines = text.split("Options each algorithm accepts", 1)[1].splitlines()[1:]
    names = [line.split(":", 1)[0].strip() for line in lines if line.startswith("  ")]
    return [n for n in names if n]


def run(psgd, args, out, expect=0):
    done = subprocess.run([psgd, "run", *args, "--out", out], capture_output=True, text=True)
    if done.returncode != expect:
        raise SystemExit(f"psgd run {' '.join(args)}: exit {done.returncode}, not {expect}:\n"
                         f"{done.stderr[-2000:]}")
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def stopped_run(psgd, out):
    """A run stopped by SIGINT once its header shows training has begun: status stopped."""
    args = TINY[:-6] + ["--epochs", "1000", "--time-limit", "30"]
    child = subprocess.Popen([psgd, "run", *args, "--out", out], stderr=subprocess.PIPE,
                             text=True)
    for line in child.stderr:  # the header is printed once every check has passed
        if line.startswith("psgd run"):
            break
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=30)
    if child.returncode != 130:
        raise SystemExit(f"psgd run stopped by SIGINT: exit {child.returncode}, not 130")
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--psgd", required=True)
    parser.add_argument("--root", default=ROOT)
    args = parser.parse_args()
    with open(os.path.join(args.root, "harness/run/run_document.schema.json"),
              encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    failures = [f"schema: no description at {p}" for p in described(schema)]

    def check(name, doc):
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path))[:3]:
            where = "/".join(str(p) for p in error.path)
            failures.append(f"{name}: at '{where}': {error.message[:300]}")

    examples = sorted(p for p in glob.glob(os.path.join(args.root, "results/examples/*/*.json"))
                      if os.path.basename(p) != "sweep.json")
    if len(examples) < 100:
        failures.append(f"only {len(examples)} example documents found under results/examples")
    for path in examples:
        with open(path, encoding="utf-8") as f:
            check(os.path.relpath(path, args.root), json.load(f))

    names = algorithms(args.psgd)
    if len(names) < 8:
        failures.append(f"only {len(names)} algorithms read from psgd run --help: {names}")
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        runs = [["--algo", n, "--threads", "1" if n == "seq" else "2"] for n in names]
        for extra in runs + EXTRA_RUNS:
            doc = run(args.psgd, TINY + extra, out)
            check("psgd run " + " ".join(extra), doc)
            if doc.get("schema_version") != 3 or not doc.get("argv"):
                failures.append(f"psgd run {' '.join(extra)}: schema_version 3 and argv expected")
            written += 1
        check("time-limited run", run(args.psgd, TINY[:-6] + ["--time-limit", "0.2"], out))
        check("dry run", run(args.psgd, ["--dry-run", "--algo", "hogwild", "--threads", "2"],
                             out))
        check("error document", run(args.psgd, TINY + ["--batch", "0"], out, expect=2))
        stopped = stopped_run(args.psgd, out)
        check("stopped run", stopped)
        if stopped.get("status") != "stopped":
            failures.append(f"stopped run: status {stopped.get('status')}, not stopped")
        written += 4
    for line in failures:
        print("FAIL", line)
    print(f"{len(examples)} committed documents and {written} written by {args.psgd} checked "
          f"against the schema: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
