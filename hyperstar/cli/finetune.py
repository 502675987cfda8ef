"""``hyperstar finetune`` (one configuration on an image folder) and ``hyperstar space`` (the search space)."""

from __future__ import annotations

import argparse
from typing import Any

from hyperstar.cli._common import (
    backbone_flags,
    device_flag,
    image_flags,
    json_flag,
    load_task,
    print_json,
    seed_flag,
    stderr_tty,
)


def add_finetune(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a backbone on an image folder with one configuration",
                       parents=[seed_flag(), backbone_flags(help="registered backbone name (default smallcnn)"),
                                image_flags(channels=True), device_flag(), json_flag()])
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("--config", help="configuration as JSON text or a JSON file (missing values: defaults)")
    p.add_argument("--epochs", type=int, default=3, help="budget in epochs (default 3)")
    p.add_argument("--max-budget", type=int, default=None,
                   help="horizon of the learning-rate schedule in epochs (default: --epochs)")
    p.add_argument("--checkpoint", help="save the final state here (to resume to a larger budget)")
    p.add_argument("--resume", help="continue from a checkpoint written by --checkpoint")
    p.add_argument("--export", metavar="MODEL_PT",
                   help="write the fine-tuned model here at the WiSE-FT alpha of --export-alpha (load it with "
                        "hyperstar.finetune.load_model)")
    p.add_argument("--export-alpha", default="best",
                   help="WiSE-FT alpha of the exported model: 'best' (default: the best on validation) or a number "
                        "in [0, 1] (1: the fine-tuned model as trained)")
    p.add_argument("--stilts", metavar="TASK", default=None,
                   help="fine-tune first on a known task of the meta-data (STILTs): 'auto' (the recommender's most "
                        "similar known task) or a task name; its cost counts in --epochs")
    p.add_argument("--stilts-epochs", type=int, default=2, help="epochs of the intermediate stage (default 2)")
    p.set_defaults(func=cmd_finetune)


def add_space(sub) -> None:
    p = sub.add_parser("space", help="show the default search space", parents=[json_flag()])
    p.set_defaults(func=cmd_space)


def format_curve(result) -> str:
    """The per-epoch table of a :class:`~hyperstar.finetune.FineTuneResult` and its summary line."""
    lines = [f"{'epoch':>5}  {'train_loss':>10}  {'val_loss':>9}  {'val_acc':>7}  {'lr':>9}  {'seconds':>7}"]
    for e in result.curve:
        lines.append(
            f"{e.epoch:>5}  {e.train_loss:>10.4f}  {e.val_loss:>9.4f}  {e.val_acc:>7.3f}  {e.lr:>9.2e}  {e.seconds:>7.2f}"
        )
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
    lines.append(
        f"test_acc={test}  diverged={result.diverged}  wall_time={result.wall_time:.1f}s  "
        f"throughput={result.samples_per_s:.0f} samples/s  device={result.device}"
    )
    wise = getattr(result, "wise_ft", None)
    if wise:
        def cell(v):
            return "    n/a" if v is None else f"{v:>7.3f}"

        lines.append("WiSE-FT (body interpolated, fine-tuned head):  alpha " + " ".join(f"{a:>7g}" for a in wise["alphas"]))
        for split in ("val", "test", "shifted"):
            lines.append(f"{split + '_acc':>52} " + " ".join(cell(v) for v in wise[split]))
        lines.append(f"best alpha on validation: {wise.get('best_alpha')}"
                     + ("" if wise.get("body_changed", True) else " (the body did not change: alpha is moot)"))
    stilts = result.extra.get("stilts") if isinstance(result.extra, dict) else None
    if stilts:
        lines.append(f"STILTs: {stilts['intermediate_epochs']} epoch(s) on {stilts['intermediate']!r} first (cost "
                     f"{stilts['cost_epochs']} of {stilts['budget']} epochs of budget), then {stilts['target_epochs']}")
    if isinstance(result.extra, dict) and result.extra.get("exported"):
        lines.append(f"exported: {result.extra['exported']} (WiSE-FT alpha {result.extra['exported_alpha']:g})")
    return "\n".join(lines)


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune and print the curve. On a full disk the checkpoint is lost, not the training: the finished
    result is printed first, then the one-line disk-full error (exit status 1)."""
    from hyperstar.exceptions import DiskFullError
    from hyperstar.finetune import fine_tune
    from hyperstar.space import config_from_json, default_configuration

    # An empty --config is a mistake, not "the defaults" (config_from_json says so).
    from hyperstar.finetune.wiseft import check_alpha

    config = config_from_json(args.config) if args.config is not None else default_configuration()
    export_alpha = args.export_alpha if args.export_alpha == "best" else _alpha(args.export_alpha)
    check_alpha(export_alpha, "--export-alpha")
    task = load_task(args.path, args.resolution, args.channels)
    run = fine_tune
    extra: dict[str, Any] = {}
    if args.stilts is not None:
        from hyperstar.stilts import fine_tune_stilts

        if args.resume:
            from hyperstar.exceptions import InvalidInputError

            raise InvalidInputError("--resume cannot be combined with --stilts; run the STILTs fine-tune again.")
        run = fine_tune_stilts
        extra = {"intermediate": args.stilts, "intermediate_epochs": args.stilts_epochs}
    try:
        result = run(
            task,
            config,
            budget=args.epochs,
            max_budget=args.max_budget,
            backbone=args.backbone,
            weights=args.weights,
            seed=args.seed,
            device=args.device,
            checkpoint_path=args.checkpoint,
            progress=stderr_tty() and not args.json,
            export_path=args.export,
            export_alpha=export_alpha,
            **({"resume_from": args.resume} if args.resume else {}),
            **extra,
        )
    except DiskFullError as exc:
        if exc.result is None:
            raise
        _show(exc.result, args.json)
        raise
    _show(result, args.json)
    return 0


def _alpha(text: str) -> float:
    from hyperstar.exceptions import InvalidInputError

    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"--export-alpha must be 'best' or a number in [0, 1]. Got {text!r}.") from None


def _show(result, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
    else:
        print(format_curve(result), flush=True)


def space_rows(space) -> list[dict[str, Any]]:
    """One row per hyperparameter: name, type, domain, default and the condition that activates it."""
    from ConfigSpace import CategoricalHyperparameter, OrdinalHyperparameter

    from hyperstar._internal.convert import plain

    conditions = {c.child.name: str(c) for c in space.conditions}
    rows = []
    for hp in space.values():
        row: dict[str, Any] = {"name": hp.name}
        if isinstance(hp, CategoricalHyperparameter):
            row.update(type="categorical", choices=[plain(c) for c in hp.choices])
        elif isinstance(hp, OrdinalHyperparameter):
            row.update(type="ordinal", sequence=[plain(c) for c in hp.sequence])
        else:
            row.update(type="float", lower=float(hp.lower), upper=float(hp.upper), log=bool(hp.log))
        row["default"] = plain(hp.default_value)
        row["condition"] = conditions.get(hp.name)
        rows.append(row)
    return rows


def cmd_space(args: argparse.Namespace) -> int:
    from hyperstar.space import default_configuration, default_space, feature_names

    space = default_space()
    rows = space_rows(space)
    if args.json:
        print_json({"hyperparameters": rows, "default": default_configuration(space),
                    "encoding": feature_names(space)})
        return 0
    for row in rows:
        if row["type"] == "float":
            domain = f"[{row['lower']:g}, {row['upper']:g}]" + (" log" if row["log"] else "")
        else:
            domain = "{" + ", ".join(map(str, row.get("choices", row.get("sequence")))) + "}"
        cond = f"   if {row['condition'].split('|')[-1].strip()}" if row["condition"] else ""
        print(f"{row['name']:<17} {domain:<34} default={row['default']}{cond}")
    return 0
