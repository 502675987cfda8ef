"""``hyperstar metadata build|tasks|import|info|refresh`` and ``hyperstar pretrain-source``: the offline side."""

from __future__ import annotations

import argparse
import json

from hyperstar.cli._common import (backbone_flags, device_flag, image_flags, json_flag, print_json, seed_flag,
                                   sigterm_as_interrupt, stderr_tty)

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
                        description="Fine-tune every (task, configuration, seed) cell to --max-budget epochs, in "
                                    "worker processes, appending each finished cell to results.jsonl: a re-run "
                                    "resumes. A progress bar shows the ETA. Size a build first with --dry-run.",
                        parents=[backbone_flags(), image_flags(), device_flag(), json_flag()])
    b.add_argument("--out", default=DEFAULT_BUILD_OUT,
                   help=f"output folder (default ./{DEFAULT_BUILD_OUT}, in the current directory: never the shipped "
                        "meta-data inside the installed package unless named here)")
    b.add_argument("--suite", choices=SUITE_NAMES, default=None,
                   help="the task suite --tasks picks from: v1 (the shipped meta-data's 29 tasks), v2 (17 families, "
                        "68 tasks, real images from Debian packages: `hyperstar metadata tasks --suite v2` lists what "
                        "to install) or tiny (default: the tasks of the --out folder when it holds a build, else v1)")
    b.add_argument("--tasks", nargs="*", help="task names of the suite, or 'tiny' (default: the whole suite, "
                                              "or none when --folder is given)")
    b.add_argument("--folder", action="append", default=None, metavar="PATH",
                   help="an image folder as a task (ImageFolder layout: one sub-folder per class); repeat for more "
                        "folders. The recipe records its absolute path and a content digest; mix with --tasks")
    b.add_argument("--family", default=None, metavar="NAME",
                   help="the family of the --folder tasks in the meta-dataset (default 'folder'), so that a "
                        "leave-one-family-out evaluation treats your kind of data as one family")
    b.add_argument("--n-configs", type=int, default=None,
                   help="size of the Sobol design, besides the default and the literature recipes (default 128 for "
                        "space version 2, 64 for version 1)")
    b.add_argument("--config-seed", type=int, default=0)
    b.add_argument("--literature-recipes", action=argparse.BooleanOptionalAction, default=None,
                   help="put the known-good recipes of the fine-tuning literature (linear probe, BitFit, L2-SP, "
                        "WiSE-FT-friendly low rates, ULMFiT) after the default (default: on for space version 2, "
                        "off for version 1, whose design stays that of the shipped meta-data)")
    b.add_argument("--max-budget", type=int, default=9)
    b.add_argument("--seeds", type=int, default=None,
                   help="run every configuration with seeds 0..N-1 (default 2 for space version 2, unless "
                        "--noise-configs is given)")
    b.add_argument("--noise-configs", type=int, default=None,
                   help="the first builds' plan: seed 0 everywhere and seed 1 for this many configurations (default "
                        "8 for space version 1); ignored with --seeds")
    b.add_argument("--replicate-above", type=float, default=None, metavar="POINTS",
                   help="give more seeds to the noisy cells only: after every base cell, a cell whose --seeds seeds "
                        "end more than POINTS accuracy points apart (max - min of the final validation accuracy; "
                        "5 means 0.05) runs seeds N, N+1, ... up to --max-seeds in all, decided from the runs done "
                        "(a resume decides again). Costs K - N more runs per noisy cell: with --seeds 2, --max-seeds 4 "
                        "and a third of the cells noisy, a third more runs than the base plan (--dry-run counts those "
                        "known now). Needs --seeds (the v2 plan); default: off")
    b.add_argument("--replicate-within", type=float, default=None, metavar="POINTS",
                   help="with --replicate-above: replicate only the contenders, the noisy cells whose best seed ends "
                        "within POINTS accuracy points of the task's best cell (its mean over the seeds done); a cell "
                        "far below the best gets no more seeds, since no top-k pick depends on it; decided once every base cell is done "
                        "(default: every noisy cell)")
    b.add_argument("--max-seeds", type=int, default=4, metavar="K",
                   help="with --replicate-above: the most runs a noisy cell gets, base seeds included (default 4)")
    b.add_argument("--order", choices=("config", "task"), default="config",
                   help="cell order: 'config' (default: each configuration on every task and seed before the next, "
                        "so a build stopped early has whole configurations) or 'task' (task by task)")
    b.add_argument("--workers", type=int, default=2, help="worker processes (0: in this process)")
    b.add_argument("--max-cells", type=int, default=None, help="stop after this many new cells (>= 0)")
    b.add_argument("--max-hours", type=float, default=None,
                   help="start no cell after this many hours; the cells in flight finish and are written (resume later)")
    b.add_argument("--dry-run", action="store_true",
                   help="write nothing: print the cells to run and the wall time they take here with --workers, "
                        "from timing a few real cells (--time-cells)")
    b.add_argument("--time-cells", type=int, default=3, help="cells --dry-run times (default 3)")
    b.add_argument("--space-version", type=int, choices=(1, 2), default=2,
                   help="default search space the design is drawn from (default 2, with the fine-tuning techniques; "
                        "1: the space of the shipped meta-data)")
    b.set_defaults(func=cmd_metadata_build)

    t = msub.add_parser("tasks", help="list a task suite (default v1)", parents=[json_flag()])
    t.add_argument("--suite", choices=SUITE_NAMES, default="v1")
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
    i.add_argument("--check-recipes", action="store_true",
                   help="also build every task from its recipe and say whether it gives the images its cells ran "
                        "on (minutes for a large suite; needs the packages its recipes read)")
    i.set_defaults(func=cmd_metadata_info)

    r = msub.add_parser(
        "refresh", help="re-pin the tasks whose images changed (their rows are set aside and run again)",
        parents=[json_flag()],
        description="Rebuild the tasks of a meta-dataset (all, or --task) and compare their images with the digest "
                    "the build recorded. For each task whose images changed (an updated package, an edited folder), "
                    "its result rows move to results.stale.jsonl and the manifest records the new digest; the next "
                    "`metadata build --out PATH` runs its cells again. After a package upgrade the task's recipe "
                    "takes the installed versions (resume with --out alone: the suite's own recipes pin the old "
                    "ones). Use it when the new images are the ones to keep; otherwise restore the recorded "
                    "source (the manifest's provenance says which packages).")
    r.add_argument("path", help="the meta-dataset folder (the --out of a build)")
    r.add_argument("--task", action="append", default=None, metavar="NAME", help="only this task (repeat for more)")
    r.add_argument("--dry-run", action="store_true", help="only report which tasks changed; write nothing")
    r.set_defaults(func=cmd_metadata_refresh)


def add_pretrain_source(sub) -> None:
    p = sub.add_parser("pretrain-source", help="pre-train a small CNN on the source task (ships in meta_data/)",
                       parents=[seed_flag(), json_flag()])
    p.add_argument("--out", default=None, help="weights file (default: meta_data/backbones/<backbone>_source.pt)")
    p.add_argument("--backbone", default="smallcnn")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--per-class", type=int, default=300)
    p.set_defaults(func=cmd_pretrain_source)


SUITE_NAMES = ("v1", "v2", "tiny")


def _suite(name: str):
    from hyperstar.suite import default_suite, suite_v2, tiny_suite

    return {"v1": default_suite, "v2": suite_v2, "tiny": tiny_suite}[name]()


def suite_recipes(names: list[str] | None, suite: str | None = None):
    """The recipes ``--tasks`` names in ``suite`` (default v1); without names the whole ``suite``, or ``None``
    without one (the builder then goes on with the tasks of the folder it resumes, or takes the v1 suite);
    ``['tiny']``: the tiny suite."""
    if names == ["tiny"]:
        return _suite("tiny")
    if not names:
        return None if suite is None else _suite(suite)
    suite = suite or "v1"
    from hyperstar.suite import tiny_suite

    pool = {r.name: r for r in _suite(suite) + tiny_suite()}
    unknown = [t for t in names if t not in pool]
    if unknown:
        from hyperstar.exceptions import InvalidInputError

        raise InvalidInputError(f"Unknown task(s) {', '.join(unknown)} in suite {suite}; see `hyperstar metadata "
                                f"tasks --suite {suite}`.")
    return [pool[t] for t in names]


def build_recipes(tasks: list[str] | None, folders: list[str] | None, family: str | None, suite: str | None = None):
    """The recipes of ``metadata build``: the suite tasks ``--tasks`` names, then one task per ``--folder``."""
    from hyperstar.exceptions import InvalidInputError

    if family is not None and not folders:
        raise InvalidInputError(f"--family names the family of --folder tasks; got --family {family!r} without "
                                "--folder. Add --folder PATH, or leave --family out.")
    if not folders:
        return suite_recipes(tasks, suite)
    from hyperstar.suite.folders import FOLDER_FAMILY, folder_recipe

    return list(suite_recipes(tasks, suite) or [] if tasks else []) + [folder_recipe(p, family=family or FOLDER_FAMILY) for p in folders]


#: the counts ``metadata build`` checks up front, so that the error names the flag: (flag, low, high)
_BUILD_COUNTS = {"n_configs": ("--n-configs", 0, None), "config_seed": ("--config-seed", 0, None),
                 "max_budget": ("--max-budget", 1, 10_000), "noise_configs": ("--noise-configs", 0, None),
                 "seeds": ("--seeds", 1, 100), "max_seeds": ("--max-seeds", 1, 100), "workers": ("--workers", 0, 512), "max_cells": ("--max-cells", 0, None),
                 "resolution": ("--resolution", 8, 512), "time_cells": ("--time-cells", 1, 1000)}


def _recorded_seeds(out: str, default: int | None) -> int | None:
    from pathlib import Path

    manifest = Path(out) / "manifest.json"
    if not manifest.is_file():
        return default
    from hyperstar.meta import load_meta_dataset

    recorded = load_meta_dataset(out).manifest.get("seeds")
    return recorded if isinstance(recorded, int) else default


def build_plan(args: argparse.Namespace) -> dict:
    """The keyword arguments of the build ``metadata build`` asks for, with the defaults of its space version."""
    v2 = args.space_version >= 2
    seeds = args.seeds if args.seeds is not None else (2 if v2 and args.noise_configs is None else None)
    if args.seeds is None and args.noise_configs is None:  # a resume keeps the seeds its folder was built with
        seeds = _recorded_seeds(args.out, seeds)
    return {
        "n_configs": args.n_configs if args.n_configs is not None else (128 if v2 else 64),
        "config_seed": args.config_seed,
        "literature_recipes": args.literature_recipes if args.literature_recipes is not None else v2,
        "max_budget": args.max_budget,
        "seeds": seeds,
        "noise_configs": args.noise_configs if args.noise_configs is not None else 8,
        "order": args.order,
        "backbone": args.backbone,
        "weights": args.weights,
        "n_workers": args.workers,
        "resolution": args.resolution,
        "device": args.device,
        "max_cells": args.max_cells,
        "space_version": args.space_version,
        "replicate_above": args.replicate_above,
        "max_seeds": args.max_seeds,
        "replicate_within": args.replicate_within,
    }


def _check_replication(plan: dict) -> None:
    """Refuse --replicate-above without the seeds plan, and --max-seeds under --seeds, naming the flags."""
    from hyperstar.exceptions import InvalidInputError

    if plan["replicate_above"] is None:
        if plan["replicate_within"] is not None:
            raise InvalidInputError("--replicate-within narrows --replicate-above to the contenders, and "
                                    "--replicate-above is not given. Add --replicate-above POINTS, or leave "
                                    "--replicate-within out.")
        return
    if plan["seeds"] is None:
        raise InvalidInputError("--replicate-above gives noisy cells more seeds than the base --seeds N of the v2 plan; "
                                "this build has none (the first builds' plan, --noise-configs or --space-version 1). "
                                "Add --seeds N, or leave --replicate-above out.")
    if plan["max_seeds"] < plan["seeds"]:
        raise InvalidInputError(f"--max-seeds {plan['max_seeds']} is fewer than the {plan['seeds']} seeds of the plan "
                                f"(--seeds): it counts a cell's runs in all, base seeds included. Give --max-seeds "
                                f"{plan['seeds']} or more.")


def cmd_metadata_build(args: argparse.Namespace) -> int:
    from hyperstar._internal.validation import check_float, check_int
    from hyperstar.meta.builder import build_meta_dataset, estimate_build

    where = "hyperstar metadata build"
    for dest, (flag, low, high) in _BUILD_COUNTS.items():
        if getattr(args, dest) is not None:
            check_int(getattr(args, dest), flag, where, low, high)
    if args.max_hours is not None:
        check_float(args.max_hours, "--max-hours", where, 0.0, low_open=True)
    if args.replicate_above is not None:
        check_float(args.replicate_above, "--replicate-above", where, 0.0, 100.0, low_open=True)
    if args.replicate_within is not None:
        check_float(args.replicate_within, "--replicate-within", where, 0.0, 100.0)
    recipes = build_recipes(args.tasks, args.folder, args.family, args.suite)
    plan = build_plan(args)
    _check_replication(plan)
    if args.dry_run:
        est = estimate_build(args.out, recipes=recipes, n_timed=args.time_cells, **plan)
        if args.json:
            print_json(est)
            return 0
        print(f"{est['cells_to_run']} cells to run in {args.out} ({est['cells_done']} done): {est['n_tasks']} tasks x "
              f"{est['n_configs']} configurations x "
              + (f"{est['seeds']} seeds" if est["seeds"] else f"seed 0 (+ seed 1 for {est['noise_configs']})"))
        if est.get("replicate_cells") is not None:
            base_left = est["cells_to_run"] - est["replicate_cells"]
            print(f"of them {est['replicate_cells']} further seeds of the cells noisy now (spread > "
                  f"{args.replicate_above:g} points"
                  + (f", a seed within {args.replicate_within:g} of the task's best" if args.replicate_within is not None
                     else "") + ")" + (
                      f"; the {base_left} base runs still to run may add up to {plan['max_seeds'] - est['seeds']} "
                      "per cell, decided when its seeds are done (not counted)" if base_left > 0 else ""))
        if est["seconds_per_cell"] is None:
            print("nothing to time: no cell left to run")
        else:
            print(f"timed {est['timed_cells']} cells here: {est['seconds_per_cell']:.1f} s per cell "
                  f"({', '.join(f'{x:.1f}' for x in est['seconds_timed'])} s)")
            print(f"estimate: {est['cells_to_run']} cells x {est['seconds_per_cell']:.1f} s / {est['workers']} workers "
                  f"= {est['estimated_hours']:.2f} h ({est['estimated_hours'] / 24:.2f} days)")
        return 0
    sigterm_as_interrupt()  # `kill` stops a background build as Ctrl-C does: the lock is released, finished rows kept
    meta = build_meta_dataset(args.out, recipes=recipes, progress=stderr_tty() or "lines", max_hours=args.max_hours, **plan)
    info = meta.info()
    from hyperstar.meta.analysis import planned_cells

    info["cells_done"] = int(meta.n_seeds.sum())
    info["cells_planned"] = planned_cells(meta.manifest)
    if args.json:
        print_json(info)
    else:
        extra = int((meta.seeds >= plan["seeds"]).sum()) if plan["seeds"] else 0  # replicate runs: not in the plan
        print(f"{info['cells_filled']}/{info['cells_total']} cells filled in {args.out} (complete: {info['complete']}); "
              f"{info['cells_done'] - extra}/{info['cells_planned']} runs of the plan done"
              + (f", and {extra} further seeds of noisy cells" if extra else ""))
    return 0


def cmd_metadata_tasks(args: argparse.Namespace) -> int:
    rows = [r.to_dict() for r in _suite(getattr(args, "suite", "v1"))]
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


def _points(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_noise_table(noise: dict) -> None:
    """The seed-noise table (:func:`hyperstar.meta.analysis.seed_noise`) as text, one family a line."""
    print("\nseed noise of the final validation accuracy (accuracy points; cells with >= 2 seeds):")
    print(f"  {'family':<20} {'tasks':>5} {'cells':>6} {'mean |diff|':>12} {'std err':>8} {'val bound':>9}   "
          f"{'top-quarter cells':>17} {'mean |diff|':>12}")
    rows = list(noise["per_family"].items()) + [("overall", noise["overall"])]
    for fam, r in rows:
        top = r.get("top_quartile") or {}
        print(f"  {fam:<20} {r['tasks']:>5} {r['cells']:>6} {_points(r['mean_abs_diff']):>12} "
              f"{_points(r['mean_std_error']):>8} {_points(r.get('val_bound')):>9}   {top.get('cells', 0):>17} "
              f"{_points(top.get('mean_abs_diff')):>12}")
    print("  (top quarter: the configurations the other tasks rank in their top 25%, where a ranking's first picks are;\n"
          "   val bound: the mean |diff| two runs would show from the validation sets' size alone were their errors\n"
          "   independent; an upper bound on that part, since runs share their hard images)")


def print_recipe_check(r: dict) -> None:
    """The result of :func:`hyperstar.meta.refresh.check_recipes` as text."""
    print(f"\nrecipes: {r['rebuilt_exactly']} of {r['checked']} tasks rebuild the images their cells ran on"
          + (f"; {r['no_digest']} without a recorded digest" if r["no_digest"] else "")
          + (f"; {r['no_recipe']} without a recipe (imported)" if r["no_recipe"] else ""))
    if r["changed"]:
        print(f"  other images now: {', '.join(r['changed'])} (`hyperstar metadata refresh` says what to do)")
    for f in r["failed"]:
        print(f"  does not build here: {f['task']}: {f['error']}")


def cmd_metadata_info(args: argparse.Namespace) -> int:
    from hyperstar._internal.convert import json_safe
    from hyperstar.meta import analyze_meta_dataset, load_meta_dataset
    from hyperstar.meta.analysis import build_counts

    meta = load_meta_dataset(args.path)
    info = meta.info()
    info.update(build_counts(meta))
    info["analysis"] = analyze_meta_dataset(meta)
    if getattr(args, "check_recipes", False):
        from hyperstar.meta.refresh import check_recipes

        info["recipes"] = check_recipes(meta.path, progress=not args.json)
    if args.json:
        print_json(json_safe(info))
        return 0
    a = info.pop("analysis")
    noise = info.pop("seed_noise")
    recipes = info.pop("recipes", None)
    for k, v in info.items():
        if isinstance(v, dict) and k in ("seeds_per_cell", "val_images"):
            v = ", ".join(f"{name} {int(x) if isinstance(x, float) and x.is_integer() else _points(x)}"
                          for name, x in v.items())
        print(f"{k:<16} {v}")
    print_noise_table(noise)
    if recipes is not None:
        print_recipe_check(recipes)
    if a.get("n_tasks_analysed", 0) >= 2:
        print(f"\nanalysis over {a['n_tasks_analysed']} complete tasks:")
        for k in _ANALYSIS_KEYS:
            if k in a:
                v = a[k]
                print(f"  {k:<32} {v:.4f}" if isinstance(v, float) else f"  {k:<32} {v}")
            elif k == "mean_best_minus_default" and a.get("no_default"):
                print(f"  {k:<32} n/a: {a['no_default']}")
    return 0


def cmd_metadata_refresh(args: argparse.Namespace) -> int:
    from hyperstar.meta.refresh import STALE_RESULTS, refresh_changed_tasks

    changed = refresh_changed_tasks(args.path, tasks=args.task, dry_run=args.dry_run, progress=stderr_tty())
    if args.json:
        print_json({"changed": changed, "dry_run": bool(args.dry_run)})
        return 0
    if not changed:
        print(f"every task of {args.path} builds the images it was built on: nothing to refresh")
        return 0
    would = "would be " if args.dry_run else ""
    for c in changed:
        if c["action"] == "set aside":
            print(f"{c['task']}: images digest {c['recorded']} -> {c['now']}, {c['rows']} result rows {would}set aside"
                  + ("" if args.dry_run else f" in {STALE_RESULTS}"))
        elif c["action"] == "pinned":
            print(f"{c['task']}: images digest {c['now']} {would}pinned (none was recorded), its rows kept")
        else:
            print(f"{c['task']}: recipe {would}updated (a re-saved folder or new package versions; the same "
                  "pixels), its rows kept")
    if not args.dry_run and any(c["action"] == "set aside" for c in changed):
        print(f"run `hyperstar metadata build --out {args.path}` to run their cells again")
    return 0


def cmd_pretrain_source(args: argparse.Namespace) -> int:
    from hyperstar.meta import pretrain_source_backbone

    report = pretrain_source_backbone(out=args.out, backbone=args.backbone, epochs=args.epochs, seed=args.seed,
                                      per_class=args.per_class, progress=stderr_tty())
    print_json(report) if args.json else print(json.dumps(report, indent=2))
    return 0
