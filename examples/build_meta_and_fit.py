"""Build your own (tiny) meta-dataset, fit a recommender on it, and use the recommender.

A meta-dataset holds, for several tasks and configurations, the validation accuracy each
configuration reached after every epoch of real fine-tuning. This script builds one on four small
tasks of its own (80 generated images each, from recipes: see ``hyperstar.suite.TaskRecipe``)
with a few configurations and a 3-epoch budget, fine-tuning the small CNN from its shipped
pre-trained weights, so it runs in well under a minute on a CPU; then it fits a recommender on
it, saves it, loads it back and ranks configurations for a task it has not seen.

Run:

    python examples/build_meta_and_fit.py                 # writes to a temp dir
    python examples/build_meta_and_fit.py --out my-meta   # re-running continues / reuses the build

A recommender fitted on four tiny tasks ranks little better than chance; this shows the workflow.
For a useful one, use many tasks and configurations, as the shipped one does (29 tasks x 97
configurations x 9 epochs): ``hyperstar metadata build --out DIR`` (resumable: stop it at any time
and run it again), then ``hyperstar fit DIR --out MODEL`` and ``hyperstar recommend FOLDER --model
MODEL``. Your own recipes: ``hyperstar.suite.TaskRecipe(family, params, seed)``; tables from
elsewhere: ``hyperstar metadata import FILE --out DIR``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hyperstar import Recommender, load_meta_dataset
from hyperstar.meta.builder import build_meta_dataset
from hyperstar.space import config_key
from hyperstar.suite import TaskRecipe, make_task

#: Your own tasks: a family, its parameters and a seed make a deterministic image set (nothing downloaded).
#: Families: glyphs, shapes, gratings, sklearn_digits, and (with the [suite] extra) mnist, faces,
#: photo_patches, textures; `hyperstar.suite.register_family` adds your own.
RECIPES = [
    TaskRecipe("glyphs", {"charset": "digits", "n_classes": 4, "per_class": 20}, seed=0, name="my-glyphs"),
    TaskRecipe("shapes", {"n_classes": 4, "per_class": 20}, seed=0, name="my-shapes"),
    TaskRecipe("gratings", {"n_classes": 4, "per_class": 20}, seed=0, name="my-gratings"),
    TaskRecipe("sklearn_digits", {"n_classes": 4, "per_class": 20}, seed=0, name="my-digits"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output folder (default: a temp dir)")
    parser.add_argument("--n-configs", type=int, default=7, help="Sobol-design configurations besides the default")
    parser.add_argument("--max-budget", type=int, default=3, help="epochs per curve (default 3)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes for the build (0: this process)")
    parser.add_argument("--steps", type=int, default=150, help="recommender training steps (default 150)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="hyperstar-example-"))

    # 1. The meta-dataset: every (task, configuration) cell fine-tuned for max_budget epochs.
    print(f"building a meta-dataset of {len(RECIPES)} tasks x {args.n_configs + 1} configurations in {out / 'meta'}")
    build_meta_dataset(
        out / "meta",
        recipes=RECIPES,
        n_configs=args.n_configs,    # the common-practice default plus a Sobol design over the space
        max_budget=args.max_budget,
        noise_configs=0,             # configurations also run with a second seed, to measure noise
        backbone="smallcnn",         # fine-tuned from its shipped pre-trained weights ("auto")
        weights="auto",              # (the random-init "smallcnn_tiny" learns next to nothing in 3 epochs)
        n_workers=args.workers,
        progress=True,
    )
    meta = load_meta_dataset(out / "meta")
    print(f"{meta.n_tasks} tasks x {meta.n_configs} configurations, {meta.max_budget} epochs each; "
          f"final validation accuracy per task (rows) and configuration (columns; c0000 is the default):")
    ids = [c["id"] for c in meta.manifest["configs"]]  # same order as meta.configs
    print(f"  {'':<12} " + " ".join(ids))
    for name, row in zip(meta.task_names, meta.final_acc):
        print(f"  {name:<12} " + " ".join(f"{a:>5.2f}" for a in row))

    # 2. The recommender: a dataset encoder, a configuration encoder and a performance predictor trained jointly.
    rec = Recommender(encoder="stats_tiny", predictor="mlp_tiny", backbone="smallcnn", weights="auto",
                      steps=args.steps, batch_images=16, n_batches=4,
                      n_fresh_candidates=0,  # rank only measured configurations (no extrapolation to new ones)
                      seed=0).fit(meta)
    model = rec.save(out / "recommender")
    rec = Recommender.load(model)
    print(f"recommender saved to {model} (use it with `hyperstar recommend FOLDER --model {model}`)")

    # 3. Rank configurations for a task the recommender has not seen.
    new_task = make_task(TaskRecipe("glyphs", {"charset": "lower", "n_classes": 4, "per_class": 20}, seed=7))
    print(f"\ntop 3 configurations for a new task ({len(new_task)} images, {new_task.n_classes} classes):")
    keys = [config_key(c) for c in meta.configs]
    for r in rec.recommend(new_task, k=3):
        c = r.config
        print(f"{r.rank:>3}. {ids[keys.index(config_key(c))]}  score {r.score:+.2f}  {c['optimizer']} lr={c['lr']:.2g} "
              f"batch={c['batch_size']} {c['train_mode']} {c['lr_schedule']}")
    print("it resembles: " + ", ".join(f"{n} ({s:.2f})" for n, s in rec.similar_tasks(new_task, k=2)))


if __name__ == "__main__":
    main()
