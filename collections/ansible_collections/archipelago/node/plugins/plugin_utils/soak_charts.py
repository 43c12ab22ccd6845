# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""PNG charts of the soak report's trends, on the controller (matplotlib, Agg backend):
one memory chart per node (a line per container) and one disk chart per node.

    python soak_charts.py CHARTS.json OUTDIR    (CHARTS.json: soak_report_info's `charts`)

Prints the files written, one per line; exits 3 when matplotlib is not installed.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import sys

SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def chart(title, series, path, ylabel="MiB"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    for name, points in sorted(series.items()):
        if points:
            ax.plot([datetime.datetime.fromtimestamp(p[0], datetime.timezone.utc) for p in points],
                    [p[1] / 1048576.0 for p in points], label=name, linewidth=1.2)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def render(charts, outdir):
    """Write the charts of every node into outdir; returns the paths."""
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for node, kinds in sorted(charts.items()):
        for kind, title in (("memory", "container memory"), ("disk", "filesystem use")):
            series = kinds.get(kind) or {}
            if series:
                paths.append(chart("%s: %s" % (node, title), series,
                                   os.path.join(outdir, "%s-%s.png" % (SAFE.sub("_", node), kind))))
    return paths


def main(argv):
    if len(argv) != 3:
        print("usage: soak_charts.py CHARTS.json OUTDIR", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed on the controller: no charts (pip install matplotlib)", file=sys.stderr)
        return 3
    with open(argv[1]) as f:
        charts = json.load(f)
    for path in render(charts, argv[2]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
