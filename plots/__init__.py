"""psgd's figures and results loader as a Python package.

From the repository root (or with PYTHONPATH=PREFIX/share/psgd/python after `make install
PREFIX=...`):

    from plots import psgd_results            # the loader: sweeps and runs as pandas frames
    python3 -m plots.threads --results DIR    # a figure script (as plots/threads.py does)

Importing the package imports nothing else, so `plots.psgd_results` needs pandas alone and each
figure script says in one line which modules its Python lacks (plots/missing_modules.py).
"""
