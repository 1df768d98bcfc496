"""The figures' drawing helpers that are not figure scripts: figure_file (a figure's PNG, PDF and
caption side file, the legend outside the panels) and curves (median curves over repetitions).

A package of its own, so that every plots/*.py stays a figure script or one of the few shared
modules the end-to-end test (harness/test/sweep_plots_test.cpp) lists.
"""
