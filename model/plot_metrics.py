"""Loss curves of a training run: `python -m model.plot_metrics OUT/metrics.jsonl PLOT.png`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.soccermaster import HEADS


def plot(metrics: str | Path, out: str | Path, title: str | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    for head in HEADS:
        ax.plot([r["step"] for r in rows], [r[f"loss/{head}"] for r in rows], label=head, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title or str(Path(metrics).parent.name), fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    plot(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
