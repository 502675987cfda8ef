"""``hyperstar metadata build|tasks|import|info`` and ``hyperstar pretrain-source``: the offline side."""

from __future__ import annotations

import argparse
import json

from hyperstar.cli._common import backbone_flags, device_flag, image_flags, json_flag, print_json, seed_flag, stderr_tty

#: where ``metadata build`` writes without ``--out``: the current directory, never the installed package
DEFAULT_BUILD_OUT = "hyperstar-meta"

#: the figures ``metadata info`` prints from the analysis, in this order
_ANALYSIS_KEYS = ("mean_pairwise_spearman", "distinct_best_configs", "mean_best_minus_median", "mean_best_minus_default",
                  "loto_avg_rank_regret_at_1", "loto_avg_rank_regret_at_3", "mean_spearman_epoch1_vs_final",
                  "seed_noise_mean_abs_diff", "diverged_fraction")


def add_metadata(sub) -> None:
    p = sub.add_parser("metadata", help="build, import and inspect meta-datasets")
    msub = p.add_subparsers(dest="metadata_command", metavar="SUBCOMMAND", required=True)

    b = msub.add_parser("build", help="fine-tune every (task, configuration) cell of a suite (resumable)",
                        parents=[backbone_flags(), image_flags(), device_flag(), json_flag()])
    b.add_argument("--out", default=DEFAULT_BUILD_OUT,
                   help=f"output folder (default ./{DEFAULT_BUILD_OUT}, in the current directory: never the shipped "
                        "meta-data inside the installed package unless named here)")
    b.add_argument("--tasks", nargs="*", help="task names of the default suite, or 'tiny' (default: the whole suite)")
    b.add_argument("--n-configs", type=int, default=64, help="size of the Sobol design (plus the default)")
    b.add_argument("--config-seed", type=int, default=0)
    b.add_argument("--max-budget", type=int, default=9)
    b.add_argument("--noise-configs", type=int, default=8, help="configurations also run with a second seed")
    b.add_argument("--workers", type=int, default=2, help="worker processes (0: in this process)")
    b.add_argument("--max-cells", type=int, default=None, help="stop after this many new cells (>= 0)")
    b.add_argument("--space-version", type=int, choices=(1, 2), default=2,
                   help="default search space the design is drawn from (default 2, with the fine-tuning techniques; "
                        "1: the space of the shipped meta-data)")
    b.set_defaults(func=cmd_metadata_build)

    t = msub.add_parser("tasks", help="list the default task suite", parents=[json_flag()])
    t.set_defaults(func=cmd_metadata_tasks)

    i = msub.add_parser(
        "import", help="import external meta-data from a CSV or JSON Lines table", parents=[json_flag()],
        description="Import a table (one row per task, configuration and seed) into a meta-dataset folder. Every row "
                    "is checked first; the result is written beside --out and swapped in, so a failed or "
                    "interrupted import leaves --out as it was. Configurations are checked against hyperstar's search "
                    "space, or against your own with --space (e.g. a table fine-tuned over another space, with the "
                    "backbone as a hyperparameter): every distinct configuration of that space is kept and the space "
                    "is recorded in the meta-dataset.")
    i.add_argument("file", help="a .csv, .tsv or .jsonl table: task, config (or one column per hyperparameter), "
                                "val_acc (or acc_1, acc_2, ...), optional test_acc, seed, family, descriptors (or desc_<name>)")
    i.add_argument("--out", required=True, help="the meta-dataset folder: new or empty, unless --append or --replace")
    i.add_argument("--max-budget", type=int, default=None, help="epochs kept per curve (default: the longest curve)")
    i.add_argument("--space", default=None, metavar="SPACE.json",
                   help="the search space of the table's configurations, as ConfigSpace JSON (ConfigurationSpace.to_json"
                        "(path)); default: hyperstar's own space. Inactive values are dropped and missing ones take "
                        "the space's defaults; rows whose configurations then coincide for one task and seed must have "
                        "the same results. With --append, the space of --out (give it or leave this out)")
    mode = i.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true",
                      help="add the rows to the meta-dataset in --out (it keeps its tasks, configurations and "
                           "max_budget); a cell (task, configuration, seed) already there is kept once when its "
                           "val_acc and test_acc are the same, and refused when they differ")
    mode.add_argument("--replace", action="store_true", help="replace the meta-dataset in --out with the table's")
    i.set_defaults(func=cmd_metadata_import)

    i = msub.add_parser("info", help="counts and analysis of a meta-dataset", parents=[json_flag()])
    i.add_argument("path", nargs="?", default=None, help="meta-dataset folder (default: the shipped one)")
    i.set_defaults(func=cmd_metadata_info)


def add_pretrain_source(sub) -> None:
    p = sub.add_parser("pretrain-source", help="pre-train a small CNN on the source task (ships in meta_data/)",
                       parents=[seed_flag(), json_flag()])
    p.add_argument("--out", default=None, help="weights file (default: meta_data/backbones/<backbone>_source.pt)")
    p.add_argument("--backbone", default="smallcnn")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--per-class", type=int, default=300)
    p.set_defaults(func=cmd_pretrain_source)


def suite_recipes(names: list[str] | None):
    """The recipes ``--tasks`` names (``None``: the builder's default suite; ``['tiny']``: the tiny suite)."""
    if not names:
        return None
    from hyperstar.suite import default_suite, tiny_suite

    if names == ["tiny"]:
        return tiny_suite()
    pool = {r.name: r for r in default_suite() + tiny_suite()}
    unknown = [t for t in names if t not in pool]
    if unknown:
        from hyperstar.exceptions import InvalidInputError

        raise InvalidInputError(f"Unknown task(s) {', '.join(unknown)}; see `hyperstar metadata tasks`.")
    return [pool[t] for t in names]


#: the counts ``metadata build`` checks up front, so that the error names the flag: (flag, low, high)
_BUILD_COUNTS = {"n_configs": ("--n-configs", 0, None), "config_seed": ("--config-seed", 0, None),
                 "max_budget": ("--max-budget", 1, 10_000), "noise_configs": ("--noise-configs", 0, None),
                 "workers": ("--workers", 0, 512), "max_cells": ("--max-cells", 0, None), "resolution": ("--resolution", 8, 512)}


def cmd_metadata_build(args: argparse.Namespace) -> int:
    from hyperstar._internal.validation import check_int
    from hyperstar.meta import build_meta_dataset

    for dest, (flag, low, high) in _BUILD_COUNTS.items():
        if getattr(args, dest) is not None:
            check_int(getattr(args, dest), flag, "hyperstar metadata build", low, high)
    meta = build_meta_dataset(
        args.out,
        recipes=suite_recipes(args.tasks),
        n_configs=args.n_configs,
        config_seed=args.config_seed,
        max_budget=args.max_budget,
        noise_configs=args.noise_configs,
        backbone=args.backbone,
        weights=args.weights,
        n_workers=args.workers,
        resolution=args.resolution,
        device=args.device,
        progress=stderr_tty(),
        max_cells=args.max_cells,
        space_version=args.space_version,
    )
    info = meta.info()
    if args.json:
        print_json(info)
    else:
        print(f"{info['cells_filled']}/{info['cells_total']} cells filled in {args.out} (complete: {info['complete']})")
    return 0


def cmd_metadata_tasks(args: argparse.Namespace) -> int:
    from hyperstar.suite import default_suite

    rows = [r.to_dict() for r in default_suite()]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<40} {r['family']:<16} {json.dumps(r['params'], sort_keys=True)}")
    return 0


def cmd_metadata_import(args: argparse.Namespace) -> int:
    from hyperstar._internal.validation import check_int
    from hyperstar.meta import import_table

    if args.max_budget is not None:
        check_int(args.max_budget, "--max-budget", "hyperstar metadata import", 1, 10_000)
    meta = import_table(args.file, args.out, max_budget=args.max_budget, append=args.append, replace=args.replace,
                        space=args.space)
    info = meta.info()
    if args.json:
        print_json(info)
    else:
        verb = "appended to" if args.append else "replaced" if args.replace else "imported into"
        print(f"{verb} {args.out}: {info['n_tasks']} tasks x {info['n_configs']} configurations "
              f"({info['cells_filled']}/{info['cells_total']} cells)")
    return 0


def cmd_metadata_info(args: argparse.Namespace) -> int:
    from hyperstar._internal.convert import json_safe
    from hyperstar.meta import analyze_meta_dataset, load_meta_dataset

    meta = load_meta_dataset(args.path)
    info = meta.info()
    info["analysis"] = analyze_meta_dataset(meta)
    if args.json:
        print_json(json_safe(info))
        return 0
    a = info.pop("analysis")
    for k, v in info.items():
        print(f"{k:<16} {v}")
    if a.get("n_tasks_analysed", 0) >= 2:
        print(f"\nanalysis over {a['n_tasks_analysed']} complete tasks:")
        for k in _ANALYSIS_KEYS:
            if k in a:
                v = a[k]
                print(f"  {k:<32} {v:.4f}" if isinstance(v, float) else f"  {k:<32} {v}")
            elif k == "mean_best_minus_default" and a.get("no_default"):
                print(f"  {k:<32} n/a: {a['no_default']}")
    return 0


def cmd_pretrain_source(args: argparse.Namespace) -> int:
    from hyperstar.meta import pretrain_source_backbone

    report = pretrain_source_backbone(out=args.out, backbone=args.backbone, epochs=args.epochs, seed=args.seed,
                                      per_class=args.per_class, progress=stderr_tty())
    print_json(report) if args.json else print(json.dumps(report, indent=2))
    return 0
