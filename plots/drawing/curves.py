"""Metric-over-time curves of repetitions as one median line with an interquartile band.

Runs of one point are evaluated at their own snapshot times; each run is interpolated linearly
onto a common grid up to the end of the shortest run (no run is extrapolated), and the median
and the 25th-75th percentiles over the runs are drawn there. One run is drawn as it is.
"""

from plots.missing_modules import exit_if_missing

exit_if_missing("matplotlib", "numpy")

from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402

GRID_POINTS = 60


def median_curve(ax, frames, metric, **style):
    """Draws the median of `metric` over wall-clock seconds of the runs' series (`frames`: one
    DataFrame per run with `seconds` and `metric`) with the IQR band; returns the line or None."""
    runs = []
    for frame in frames:
        points = frame[["seconds", metric]].dropna().sort_values("seconds")
        if len(points):
            runs.append((points["seconds"].to_numpy(float), points[metric].to_numpy(float)))
    if not runs:
        return None
    if style.get("marker"):  # a marker now and then: the method's second cue beside colour
        style = dict(style, markevery=0.15, markersize=4)
    if len(runs) == 1:
        (line,) = ax.plot(runs[0][0], runs[0][1], linewidth=1.2, **style)
        return line
    end = min(seconds[-1] for seconds, _ in runs)
    start = max(seconds[0] for seconds, _ in runs)
    grid = np.linspace(start, end, GRID_POINTS) if end > start else np.array([start])
    values = np.array([np.interp(grid, seconds, ys) for seconds, ys in runs])
    q25, q50, q75 = np.percentile(values, [25, 50, 75], axis=0)
    (line,) = ax.plot(grid, q50, linewidth=1.2, **style)
    ax.fill_between(grid, q25, q75, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def key_entries(ax, colours, styles):
    """Legend entries apart for colour (method) and line style (e.g. placement), so a legend
    lists each once instead of every combination: proxies with no data, on ax."""
    for label, colour in colours.items():  # a colour, or plot() keywords (colour and marker)
        style = colour if isinstance(colour, dict) else {"color": colour}
        ax.add_line(Line2D([], [], label=label, **style))
    if len(styles) > 1:
        for label, style in styles.items():
            ax.add_line(Line2D([], [], color="dimgrey", linestyle=style, label=label))
