"""Tune fine-tuning hyperparameters with warm-started BOHB from Python (real fine-tuning, 2 workers).

The shipped recommender ranks configurations for your images; task-aware BOHB evaluates the top
of that ranking first (in place of BOHB's random picks) and its density model learns from those
results. Budgets are epochs: successive halving from ``--min-budget`` to ``--max-budget``.
Without a folder, the script first writes a small generated one (see recommend_for_folder.py).

Run:

    python examples/tune_warm_bohb.py                            # demo folder, ~1 minute on 2 CPU cores
    python examples/tune_warm_bohb.py path/to/images --max-budget 9 --iterations 6 --out runs/mine
    python examples/tune_warm_bohb.py --max-budget 3 --iterations 1  # a quick check (seconds)

It prints one line per finished fine-tuning job, then the incumbent and its test accuracy, and
leaves in ``--out`` (default: a temp dir) the hpbandster logs (configs.json, results.json),
result.json and trajectory.png. A killed run continues with
``tune(..., run_dir=OUT, resume=True)``. The same from the command line:
``hyperstar tune FOLDER --optimizer bohb --max-budget 9 --workers 2 --run-dir OUT``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from hyperstar import Recommender, Task
from hyperstar.hpo import tune


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="image folder, one sub-folder per class (default: write a demo one)")
    parser.add_argument("--out", default=None, help="run directory (must not hold a run yet; default: a temp dir)")
    parser.add_argument("--min-budget", type=float, default=1, help="smallest budget in epochs (default 1)")
    parser.add_argument("--max-budget", type=int, default=9, help="largest budget in epochs (default 9)")
    parser.add_argument("--iterations", type=int, default=3, help="Hyperband iterations (default 3: one full round)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("hpbandster").setLevel(logging.WARNING)  # hpbandster's own INFO lines are noisy

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="hyperstar-example-")) / "run"
    folder = args.folder
    if folder is None:
        # the script next to this one (Python puts a script's folder on sys.path)
        from recommend_for_folder import write_demo_folder

        folder = write_demo_folder(out.parent / "letters")
        print(f"no folder given: wrote a demo image folder to {folder}")

    task = Task.from_folder(folder, resolution=32, channels=3)
    result = tune(
        task,                      # a Task (sent to the workers as a file) or the folder's path
        optimizer="bohb",          # or "hb" (task-aware Hyperband) or "random"
        recommender=Recommender.default(),  # the warm start; meta=load_meta_dataset() for average-rank instead
        min_budget=args.min_budget,
        max_budget=args.max_budget,
        eta=3,
        n_iterations=args.iterations,
        n_workers=args.workers,    # local worker processes; one per GPU when there are GPUs
        run_dir=out,
        seed=args.seed,
        progress=True,             # one line per finished job on stderr
    )

    if result.incumbent is None:
        print(f"no job finished; see {out}")
        return
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
    print(f"\nincumbent after {result.n_jobs} jobs ({result.total_budget:g} epochs of budget): "
          f"val_acc {result.val_acc:.3f}, test_acc {test} at {result.budget:g} epochs")
    print(json.dumps(result.incumbent, sort_keys=True))
    # The trajectory: best validation accuracy at the largest budget vs cumulative budget spent.
    for point in result.trajectory:
        if point["budget"] == result.budget and point["best_val_acc"] == point["val_acc"]:
            print(f"  new best {point['best_val_acc']:.3f} after {point['cumulative_budget']:g} epochs of budget")
    print(f"\nlogs and plot in {out} (trajectory.png, result.json, configs.json, results.json)")


if __name__ == "__main__":
    main()
