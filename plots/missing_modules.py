"""One line instead of a traceback when the Python running plots/ lacks a module it needs.

The scripts use Debian's python3-matplotlib, python3-numpy, python3-pandas and python3-jinja2
(`make plots-deps`), which /usr/bin/python3 imports; the `python3` first on PATH (a pyenv, a
virtual environment, a cluster module) may not. Every script calls exit_if_missing() before its
first import of them, naming everything it needs, so the user learns the whole list at once.
Standard library only: this module must import under any Python 3.
"""

import importlib
import os
import sys

# The Debian package of each module the scripts import, for the hint.
DEBIAN_PACKAGES = {
    "matplotlib": "python3-matplotlib",
    "numpy": "python3-numpy",
    "pandas": "python3-pandas",
    "jinja2": "python3-jinja2",
}

# The interpreter that has them once `make plots-deps` ran.
DEBIAN_PYTHON = "/usr/bin/python3"


def missing(names):
    """The names, in order, that this interpreter cannot import (an installed module that fails
    to import, e.g. a matplotlib built for another numpy, counts as missing too)."""
    absent = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def message(absent, executable):
    """The one line: what is missing, which interpreter lacks it, and the way out (Debian's
    packages serve Debian's Python only, so another one is told to use that or its own)."""
    packages = " ".join(DEBIAN_PACKAGES.get(name, name) for name in absent)
    if os.path.realpath(executable) == os.path.realpath(DEBIAN_PYTHON):
        hint = f"make plots-deps installs {packages}"
    else:
        hint = (f"run with {DEBIAN_PYTHON} after `make plots-deps`, or install "
                f"{' '.join(absent)} into this Python")
    return f"plots need {', '.join(absent)}: not importable by {executable} ({hint})"


def exit_if_missing(*names, code=2):
    """Exits with `code` and one line on stderr when any of `names` cannot be imported."""
    absent = missing(names)
    if absent:
        print(message(absent, sys.executable or "python3"), file=sys.stderr)
        sys.exit(code)
