"""Figures of a run (matplotlib, loaded only when a figure is drawn; the Agg canvas, no display needed).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from hyperstar.hpo import run_tabular
    >>> from hyperstar.meta.dataset import load_meta_dataset
    >>> from hyperstar._internal.paths import meta_data_dir
    >>> result = run_tabular(load_meta_dataset(meta_data_dir() / "default"), 0, "hb", seed=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plot_trajectory(result, Path(d) / "trajectory.png").stat().st_size > 0
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hyperstar.hpo.result import TuneResult

__all__ = ["plot_trajectory"]


def plot_trajectory(result: TuneResult, path: str | Path) -> Path:
    """Save best validation accuracy vs the epochs trained so far as a PNG (matplotlib, Agg).

    The x axis counts epochs actually trained: a promoted configuration continues from its checkpoint,
    so it adds only the epochs beyond its last budget (hpbandster's cumulative budget, which counts every
    job's whole budget, is larger; it is ``cumulative_budget`` in the trajectory). Failed and crashed
    jobs are marked at the bottom.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    traj = result.trajectory
    if traj:
        x = [p.get("cumulative_epochs", p["cumulative_budget"]) for p in traj]
        ax.scatter(x, [p["val_acc"] if p["val_acc"] is not None else np.nan for p in traj], s=12, alpha=0.35,
                   c=[p["budget"] for p in traj], cmap="viridis", label="job (colour: budget)")
        ax.step(x, [p["best_val_acc_any_budget"] if p["best_val_acc_any_budget"] is not None else np.nan for p in traj],
                where="post", color="0.6", linestyle=":", label="best, any budget")
        ax.step(x, [p["best_val_acc"] if p["best_val_acc"] is not None else np.nan for p in traj], where="post",
                color="C3", linewidth=2, label="best at max budget")
        bad = [xi for xi, p in zip(x, traj) if p.get("outcome", "ok") != "ok"]
        if bad:
            ax.scatter(bad, [0.0] * len(bad), marker="x", color="C3", s=18, label=f"failed or crashed ({len(bad)})")
        test = [p["incumbent_test_acc"] if p["incumbent_test_acc"] is not None else np.nan for p in traj]
        if np.isfinite(test).any():
            ax.step(x, test, where="post", color="C0", linestyle="--", label="incumbent test acc")
    ax.set_xlabel("epochs trained (cumulative; promotions continue from checkpoints)")
    ax.set_ylabel("accuracy")
    ws = "warm-started" if result.warm_start else "cold"
    ax.set_title(f"{result.optimizer} ({ws}): {result.n_jobs} jobs")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
