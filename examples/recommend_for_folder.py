"""Recommend fine-tuning hyperparameters for your own image folder, before any training on it.

The folder needs the ImageFolder layout: one sub-folder per class, images inside (PNG, JPEG, ...).
Without a folder, the script first writes a small one (lower-case letters rendered from the fonts
that ship with matplotlib: 8 classes, 40 images each) and recommends for that.

Run:

    python examples/recommend_for_folder.py                    # writes a demo folder to a temp dir
    python examples/recommend_for_folder.py path/to/images -k 10
    python examples/recommend_for_folder.py --workdir demo-data   # keep the demo folder there

What it prints: the top-k configurations of the shipped recommender (a predicted score in per-task
z units, +- its spread over batches of your images), and the meta-training tasks your data
resembles. Takes a few seconds on a CPU. The same from the command line:
``hyperstar recommend path/to/images -k 10``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image

from hyperstar import Recommender, Task
from hyperstar.suite import TaskRecipe, make_task


def write_demo_folder(root: str | Path, n_classes: int = 8, per_class: int = 40, seed: int = 2024) -> Path:
    """Write a small generated ImageFolder (one sub-folder per class, PNG files) and return its path."""
    root = Path(root)
    task = make_task(TaskRecipe("glyphs", {"charset": "lower", "n_classes": n_classes, "per_class": per_class,
                                           "fonts": "all", "difficulty": 0.5, "color": "mixed"}, seed=seed))
    images = task.images(range(len(task))).permute(0, 2, 3, 1).numpy()  # uint8 [n, H, W, C]
    for i, (img, y) in enumerate(zip(images, task.labels)):
        folder = root / f"letter_{task.classes[y]}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="image folder, one sub-folder per class (default: write a demo one)")
    parser.add_argument("-k", type=int, default=5, help="how many configurations to show (default 5)")
    parser.add_argument("--workdir", default=None, help="where to write the demo folder (default: a temp dir)")
    parser.add_argument("--json", dest="json_out", default=None, help="also save the ranking to this JSON file")
    args = parser.parse_args()

    folder = args.folder
    if folder is None:
        workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hyperstar-example-"))
        folder = write_demo_folder(workdir / "letters")
        print(f"no folder given: wrote a demo image folder to {folder}")

    # Images are brought to the recommender's resolution (32x32 for the shipped one).
    task = Task.from_folder(folder, resolution=32, channels=3)
    rec = Recommender.default()
    recs = rec.recommend(task, k=args.k)

    print(f"\n{task.name}: {len(task)} images, {task.n_classes} classes")
    print(f"top {len(recs)} configurations (score: predicted accuracy, z units over configurations):")
    for r in recs:
        c = r.config
        extra = "".join(f" {k}={c[k]:.2g}" for k in ("momentum", "weight_decay", "l2sp_strength") if k in c)
        print(f"{r.rank:>3}. {r.score:+.2f} +- {r.std:.2f}  {c['optimizer']} lr={c['lr']:.2g}{extra} "
              f"batch={c['batch_size']} {c['train_mode']} {c['lr_schedule']}")
    print("\nthe best one in full (pass it to `hyperstar finetune FOLDER --config '...'`):")
    print(json.dumps(recs[0].config, sort_keys=True))
    similar = ", ".join(f"{name} ({sim:.2f})" for name, sim in rec.similar_tasks(task, k=3))
    print(f"\nyour data resembles these meta-training tasks: {similar}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([r.to_dict() for r in recs], indent=1) + "\n")
        print(f"ranking saved to {args.json_out}")


if __name__ == "__main__":
    main()
