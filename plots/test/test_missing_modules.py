"""Tests of the package plots: it imports from the repository root with no sys.path edit, its
scripts run as files and as modules, and each script under a Python that lacks matplotlib,
numpy, pandas (or jinja2) says so in one line and exits 2 (report.py: 3) with no traceback.

The Python that lacks them is this one with -S: no site-packages, only the standard library.

Run: /usr/bin/python3 -m unittest discover -s plots/test -v   (ctest: PlotsLoader, label unit)
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
ROOT = os.path.dirname(PLOTS)
sys.path.insert(0, ROOT)  # this test's own imports only; the subprocesses below get no help

from plots import missing_modules  # noqa: E402

# Modules of plots/ that are imported, never run (no __main__ block).
LIBRARY = {"__init__", "common", "missing_modules", "psgd_results", "report_curves",
           "report_sources", "sweep_folder"}


def scripts():
    """Every figure script and tool in plots/ (plots/NAME.py with a __main__ block)."""
    names = []
    for entry in sorted(os.listdir(PLOTS)):
        name, ext = os.path.splitext(entry)
        if ext == ".py" and name not in LIBRARY:
            names.append(name)
    return names


def run(args, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, **kwargs)


class ScriptsTest(unittest.TestCase):
    def test_every_script_has_a_main_block(self):
        # A new module without one belongs in LIBRARY; this keeps the list below honest.
        self.assertGreater(len(scripts()), 15)
        for name in scripts():
            with open(os.path.join(PLOTS, name + ".py"), encoding="utf-8") as f:
                self.assertIn('if __name__ == "__main__":', f.read(), name)

    def test_a_missing_module_is_one_line_naming_it_and_the_interpreter(self):
        # With -S the Python has its standard library only, so every script lacks something.
        for name in scripts():
            with self.subTest(script=name):
                result = run([sys.executable, "-S", os.path.join(PLOTS, name + ".py"), "--help"])
                self.assertEqual(result.returncode, 3 if name == "report" else 2, result.stderr)
                self.assertEqual(result.stdout, "")
                lines = result.stderr.splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                self.assertTrue(lines[0].startswith("plots need "), lines[0])
                self.assertIn("not importable by " + sys.executable, lines[0])
                self.assertIn("matplotlib" if name.startswith("nightly") else "pandas", lines[0])

    def test_as_a_module_from_the_repository_root(self):
        result = run([sys.executable, "-S", "-m", "plots.threads", "--help"], cwd=ROOT)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, r"^plots need matplotlib, numpy, pandas: not importable")
        self.assertNotIn("Traceback", result.stderr)

    @unittest.skipIf(missing_modules.missing(("matplotlib", "numpy", "pandas")),
                     "pandas is missing")
    def test_the_loader_and_a_script_import_with_no_path_edit(self):
        load = run([sys.executable, "-c", "from plots.psgd_results import load_sweep; "
                    "print(load_sweep.__module__)"], cwd=ROOT)
        self.assertEqual((load.returncode, load.stdout.strip()), (0, "plots.psgd_results"),
                         load.stderr)
        # As a module from the root; as a file from anywhere (here: plots/test).
        for args, cwd in ((["-m", "plots.threads"], ROOT),
                          ([os.path.join(PLOTS, "threads.py")], HERE)):
            with self.subTest(args=args):
                result = run([sys.executable, *args, "--help"], cwd=cwd)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("--results", result.stdout)


class MessageTest(unittest.TestCase):
    def test_debian_python_is_told_the_make_target(self):
        line = missing_modules.message(["pandas"], missing_modules.DEBIAN_PYTHON)
        self.assertEqual(line, "plots need pandas: not importable by /usr/bin/python3 "
                               "(make plots-deps installs python3-pandas)")

    def test_another_python_is_told_to_use_debian_s_or_install_into_itself(self):
        line = missing_modules.message(["matplotlib", "jinja2"], "/opt/venv/bin/python3")
        self.assertEqual(line, "plots need matplotlib, jinja2: not importable by "
                               "/opt/venv/bin/python3 (run with /usr/bin/python3 after `make "
                               "plots-deps`, or install matplotlib jinja2 into this Python)")

    def test_only_what_cannot_be_imported_is_missing(self):
        self.assertEqual(missing_modules.missing(["os", "no_such_module_psgd"]),
                         ["no_such_module_psgd"])


if __name__ == "__main__":
    unittest.main()
