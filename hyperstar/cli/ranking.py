"""``hyperstar fit`` (a recommender on a meta-dataset) and ``hyperstar recommend`` (rank for an image folder)."""

from __future__ import annotations

import argparse

from hyperstar.cli._common import first_set, image_flags, json_flag, load_task, model_flag, print_json, seed_flag, stderr_tty

#: printed when the data is unlike anything in the meta-data
UNFAMILIAR_NOTICE = ("notice: this data is unlike anything in the meta-data (familiarity {f:.2f}): rankings fall back "
                     "to the portfolio (the average-rank order over the meta-data's tasks).")

#: the image resolution when neither the flag nor the model says (what every command used before)
FALLBACK_RESOLUTION = 32


def add_fit(sub) -> None:
    p = sub.add_parser("fit", help="fit a recommender on a meta-dataset", parents=[seed_flag(), json_flag()])
    p.add_argument("meta", nargs="?", default=None, help="meta-dataset folder (default: the shipped one)")
    p.add_argument("--out", required=True, help="folder to save the recommender in")
    p.add_argument("--encoder", default="stats")
    p.add_argument("--steps", type=int, default=800)
    p.set_defaults(func=cmd_fit)


def add_recommend(sub) -> None:
    p = sub.add_parser("recommend", help="rank configurations for an image folder before any training",
                       parents=[model_flag("saved recommender folder (default: the shipped one)"),
                                image_flags(None, help="image resolution (default: the recommender's, "
                                                       f"else {FALLBACK_RESOLUTION})"),
                                seed_flag(), json_flag()])
    p.add_argument("path", nargs="?", default=None, help="image folder: one sub-folder per class")
    p.add_argument("--descriptors", default=None,
                   help="rank for a task known only by its meta-features, instead of a folder: a JSON object "
                        "(e.g. '{\"n_images\": 900, \"n_classes\": 6}') or a JSON file; needs a recommender "
                        "fitted with --encoder descriptors (e.g. on imported meta-data)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--budget", type=int, default=None,
                   help="rank for this budget in epochs (default, and the most: the meta-data's largest; a larger one "
                        "is ranked as that, with a warning)")
    p.set_defaults(func=cmd_recommend)


def load_recommender(model: str | None):
    """The recommender saved in ``model`` (``None``: the shipped one)."""
    from hyperstar.ranking import Recommender

    return Recommender.load(model) if model else Recommender.default()


def model_resolution(rec) -> int | None:
    """The image resolution a fitted recommender was trained at (``None`` when it does not say)."""
    return getattr(rec, "resolution", None)


def cmd_fit(args: argparse.Namespace) -> int:
    from hyperstar._internal.validation import check_int
    from hyperstar.meta import load_meta_dataset
    from hyperstar.ranking import Recommender

    check_int(args.steps, "--steps", "hyperstar fit", 1)  # before any loading: --steps 0 would save an untrained model
    meta = load_meta_dataset(args.meta)
    rec = Recommender(encoder=args.encoder, steps=args.steps, seed=args.seed, progress=stderr_tty()).fit(meta)
    out = rec.save(args.out)
    summary = {"model": str(out), "n_tasks": meta.n_tasks, "n_configs": meta.n_configs, "encoder": args.encoder,
               "holdout_tasks": rec.holdout_tasks_, "holdout_spearman": rec.holdout_score_}
    print_json(summary) if args.json else print(f"saved recommender to {out} (held-out Spearman {rec.holdout_score_})")
    return 0


def read_descriptors(text: str) -> dict:
    """``--descriptors``: a JSON object of numbers, given inline or as a file."""
    import json
    from pathlib import Path

    from hyperstar.exceptions import InvalidInputError

    source = "--descriptors"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InvalidInputError(f"--descriptors is neither a JSON object nor a file: {text!r}.")
        source, text = f"the descriptors file '{path}'", path.read_text(errors="replace")
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(values, dict) or not values:
        raise InvalidInputError(f"{source} must be a JSON object of descriptor values, e.g. {{\"n_images\": 900}}.")
    return values


def format_config(config: dict) -> str:
    """Every active hyperparameter of a configuration, ``name=value``, in a stable order."""
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    return " ".join(f"{k}={fmt(v)}" for k, v in sorted(config.items()))


def cmd_recommend(args: argparse.Namespace) -> int:
    from hyperstar.exceptions import InvalidInputError

    if (args.path is None) == (args.descriptors is None):
        raise InvalidInputError("Give an image folder or --descriptors (one of them).")
    rec = load_recommender(args.model)
    if args.descriptors is not None:
        task, what = read_descriptors(args.descriptors), "the described task"
    else:
        resolution = first_set(args.resolution, model_resolution(rec), FALLBACK_RESOLUTION)
        task = load_task(args.path, resolution, 3)
        what = f"{args.path} ({len(task)} images, {task.n_classes} classes)"
    recs = rec.recommend(task, k=args.k, budget=args.budget, seed=args.seed)
    summary = recs.summary()
    notice = UNFAMILIAR_NOTICE.format(f=recs.familiarity) if recs.unfamiliar else None
    if args.json:
        print_json({**summary, "notice": notice, "recommendations": [r.to_dict() for r in recs]})
        return 0
    print(f"top {len(recs)} configurations for {what}:")
    for r in recs:
        mark = f"measured {r.config_id}" if r.measured else "extrapolated"
        print(f"{r.rank:>3}. score {r.score:+.2f} ± {r.std:.2f}  [{mark}]  {format_config(r.config)}")
    print("(measured: a configuration of the meta-data, with its id; extrapolated: a fresh sample scored by the model "
          "alone, with no result behind it)")
    if recs.familiarity is not None:
        drivers = ", ".join(f"{n} ({f}, {w:.2f})" for n, f, w in recs.driving_tasks)
        print(f"familiarity {recs.familiarity:.2f} (1: like a sibling of a task in the meta-data, 0: unlike any): "
              f"ranking = portfolio + {recs.trust:.2f} x task-specific part ({100 * recs.model_share:.0f}% learned "
              f"model, {100 * (1 - recs.model_share):.0f}% nearest known tasks: {drivers})")
    if notice:
        print(notice)
    sims = ", ".join(f"{n} ({s:.2f})" for n, s in rec.similar_tasks(task, k=3, seed=args.seed))
    print(f"resembles (learned embedding, cosine): {sims}")
    return 0
