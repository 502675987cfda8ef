"""The ``hyperstar`` command line.

Errors are printed to stderr as one readable line with a non-zero exit code; ``--debug`` shows
the traceback. With ``--json`` a command prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from hyperstar._version import __version__
from hyperstar._internal.convert import json_safe
from hyperstar.exceptions import HyperstarError

logger = logging.getLogger("hyperstar.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def _stderr_tty() -> bool:
    return sys.stderr.isatty()


# --------------------------------------------------------------------------- finetune


def _load_task(path: str, resolution: int, channels: int):
    from hyperstar.data import Task

    return Task.from_folder(path, resolution=resolution, channels=channels, progress=_stderr_tty())


def _format_curve(result) -> str:
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
    return "\n".join(lines)


def cmd_finetune(args: argparse.Namespace) -> int:
    from hyperstar.finetune import fine_tune
    from hyperstar.space import config_from_json, default_configuration

    config = config_from_json(args.config) if args.config else default_configuration()
    task = _load_task(args.path, args.resolution, args.channels)
    result = fine_tune(
        task,
        config,
        budget=args.epochs,
        max_budget=args.max_budget,
        backbone=args.backbone,
        weights=args.weights,
        seed=args.seed,
        device=args.device,
        checkpoint_path=args.checkpoint,
        resume_from=args.resume,
        progress=_stderr_tty() and not args.json,
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(_format_curve(result))
    return 0


# --------------------------------------------------------------------------- space


def cmd_space(args: argparse.Namespace) -> int:
    from ConfigSpace import CategoricalHyperparameter, OrdinalHyperparameter

    from hyperstar._internal.convert import plain
    from hyperstar.space import default_configuration, default_space, feature_names

    space = default_space()
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
    if args.json:
        _print_json({"hyperparameters": rows, "default": default_configuration(space),
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


# --------------------------------------------------------------------------- demo

#: the demo's default task: held out of the shipped recommender's training, fine-tunes in a few seconds,
#: and the common-practice default configuration is far from the best one on it (0.53 vs 0.77 val acc)
DEMO_TASK = "glyphs-digits-all-10c-100s-hard-color"
DEMO_MARKER = ".hyperstar-demo"


def _demo_pick_task(requested: str | None, meta, rec) -> tuple[str, str | None]:
    """The task to demo on, and a note when the recommender has seen it in training."""
    from hyperstar.exceptions import InvalidInputError

    holdout = [t for t in rec.holdout_tasks_ if t in meta.task_names]
    if requested is None:
        if DEMO_TASK in holdout:
            return DEMO_TASK, None
        if holdout:
            return holdout[0], None
        return meta.task_names[0], "the recommender has no held-out tasks, so this one was seen in training"
    if requested not in meta.task_names:
        raise InvalidInputError(
            f"Unknown demo task {requested!r}. Choose a shipped task: one the recommender was not trained on "
            f"({', '.join(holdout) or 'none'}), or any task of `hyperstar metadata tasks`."
        )
    if requested in holdout:
        return requested, None
    return requested, ("the shipped recommender was trained on this task, so its ranking here is not a test on "
                       f"unseen data (held-out tasks: {', '.join(holdout) or 'none'})")


def _demo_out_dir(out: str):
    """Create (or reuse a previous demo's) output folder; never touch a folder the demo did not make."""
    import shutil
    from pathlib import Path

    from hyperstar.exceptions import InvalidInputError

    folder = Path(out).resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"The demo's output '{folder}' is a file; pass --out with a folder.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / DEMO_MARKER).is_file():
        raise InvalidInputError(
            f"The folder '{folder}' already exists and was not written by `hyperstar demo`; pass another --out."
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text("written by `hyperstar demo`; the next demo run with this --out replaces it\n")
    if (folder / "run").exists():  # a previous demo's run: replaced
        shutil.rmtree(folder / "run")
    return folder


_CONFIG_HEADER = (f"{'optim':<6} {'lr':>7} {'mom':>4} {'wd':>5} {'bs':>3} {'train_mode':<12} {'schedule':<14} "
                  f"{'l2sp':>5}")


def _fmt_config_row(c: dict[str, Any]) -> str:
    mom = f"{c['momentum']:.2f}" if "momentum" in c else "-"
    wd = f"{c['weight_decay']:.0e}" if "weight_decay" in c else "-"
    l2sp = f"{c['l2sp_strength']:.0e}" if "l2sp_strength" in c else "-"
    sched = c["lr_schedule"] + ("+warmup" if c.get("warmup") == "linear" else "")
    return (f"{c['optimizer']:<6} {c['lr']:>7.1e} {mom:>4} {wd:>5} {c['batch_size']:>3} {c['train_mode']:<12} "
            f"{sched:<14} {l2sp:>5}")


def _demo_origin(run_dir, config_id) -> str:
    """Where the generator got a configuration: the recommender's ranking, BOHB's model, or at random."""
    from hyperstar.hpo import read_log

    info = read_log(run_dir)[0].get(tuple(config_id or ()), ({}, {}))[1]
    source = info.get("source")
    if source == "ranking":
        return f"the recommender's ranking (#{info.get('rank')})"
    if source == "model":
        return "BOHB's density model (fitted on the results so far)"
    if source == "random":
        return "a random sample of the search space (BOHB's exploration share)"
    return "the optimizer (origin not logged)"


def cmd_demo(args: argparse.Namespace) -> int:
    import math
    import time

    import numpy as np

    from hyperstar.hpo import tune
    from hyperstar.meta.dataset import load_meta_dataset
    from hyperstar.ranking.recommender import Recommender
    from hyperstar.space import config_key, default_configuration
    from hyperstar.suite import make_task

    t0 = time.time()
    _quiet_hpbandster(args)
    _sigterm_as_interrupt()

    def say(line: str = "") -> None:
        print(line, flush=True)

    def elapsed() -> str:
        return f"[{time.time() - t0:5.1f}s]"

    say(f"hyperstar {__version__} demo: recommend fine-tuning hyperparameters for a task the recommender has "
        "never seen, then run task-aware BOHB on it with real fine-tuning.")
    say(f"{elapsed()} loading the shipped recommender and meta-dataset ...")
    rec = Recommender.default()
    meta = load_meta_dataset()
    name, note = _demo_pick_task(args.task, meta, rec)
    out = _demo_out_dir(args.out)
    ti = meta.task_names.index(name)
    recipe = meta.recipes[ti]
    resolution = int(meta.manifest.get("resolution", 32))
    say(f"{elapsed()} building task {name} from its recipe ...")
    task = make_task(recipe, resolution=resolution)
    params = ", ".join(f"{k}={v}" for k, v in (recipe or {}).get("params", {}).items())
    say("")
    say(f"task: {name}  ({len(task)} images, {task.n_classes} classes, {task.resolution}x{task.resolution}; "
        f"family {meta.families[ti]}: {params})")
    say("      not used to train the shipped recommender (one of its held-out tasks)" if note is None
        else f"      note: {note}")

    # -- recommend before any training on the task
    k = args.top
    recs = rec.recommend(task, k=k, seed=args.seed)
    keys = [config_key(c) for c in meta.configs]
    final = meta.final_acc[ti]
    n_stored = int(np.isfinite(final).sum())

    def stored(config) -> dict[str, Any] | None:
        key = config_key(config)
        if key not in keys:
            return None
        j = keys.index(key)
        val = float(final[j])
        return {"val_acc": val, "test_acc": float(meta.test_acc[ti, j]),
                "rank": int(np.sum(final[np.isfinite(final)] > val)) + 1, "of": n_stored}

    say("")
    say(f"Top {k} configurations recommended for it, before any training on it "
        f"(score: predicted accuracy in per-task z units, ± spread over image batches):")
    say(f"rank  {'score':<12}  {_CONFIG_HEADER} | meta-data: val  test  rank")
    rows = []
    for r in recs:
        s = stored(r.config)
        known = (f"| {s['val_acc']:>13.3f} {s['test_acc']:>5.3f} {s['rank']:>3}/{s['of']}" if s
                 else "|  (a fresh sample: not in the meta-data)")
        say(f"{r.rank:>4}  {r.score:+.2f} ± {r.std:.2f}  {_fmt_config_row(r.config)} {known}")
        rows.append({**r.to_dict(), "meta_data": s})
    say(f"  (meta-data columns: what that configuration actually reached on this task after {meta.max_budget} "
        f"epochs, stored in the shipped meta-data and not shown to the recommender; rank among its {n_stored} "
        "configurations)")
    holdout = set(rec.holdout_tasks_)
    sims = [(n, s) for n, s in rec.similar_tasks(task, k=len(rec.task_names_), seed=args.seed)
            if n != name and n not in holdout][:3]
    say("It resembles (cosine similarity of task embeddings, among the tasks the recommender was trained on): "
        + ", ".join(f"{n} ({s:.2f})" for n, s in sims))
    (out / "recommendations.json").write_text(json.dumps(json_safe(
        {"task": name, "recommendations": rows, "similar_tasks": [{"task": n, "similarity": s} for n, s in sims]}),
        indent=1) + "\n")

    # -- task-aware BOHB with real fine-tuning
    say("")
    say(f"{elapsed()} task-aware BOHB: budgets {args.min_budget:g}-{args.max_budget} epochs, eta 3, "
        f"{args.iterations} Hyperband iteration(s), {args.workers} local worker process(es), real fine-tuning "
        "(the recommender's ranking replaces BOHB's random picks)")
    run_dir = out / "run"
    result = tune(task, "bohb", recommender=rec, min_budget=args.min_budget, max_budget=args.max_budget, eta=3,
                  n_iterations=args.iterations, n_workers=args.workers, run_dir=run_dir, seed=args.seed,
                  resolution=resolution, progress=lambda line: say(f"  {line}"))
    wall = time.time() - t0

    # -- the result, and the meta-data's numbers for context
    say("")
    say(f"{elapsed()} done: {result.n_jobs} jobs, {result.total_budget:g} epochs of budget "
        f"({result.total_epochs:g} trained: promotions continue from checkpoints)")
    summary: dict[str, Any] = {"task": name, "held_out": note is None, "wall_time_s": round(wall, 1),
                               "settings": {"optimizer": "bohb", "min_budget": args.min_budget,
                                            "max_budget": args.max_budget, "eta": 3,
                                            "n_iterations": args.iterations, "n_workers": args.workers,
                                            "seed": args.seed},
                               "result": result.to_dict(trajectory=False)}
    if result.incumbent is None:
        say(f"no job finished; see the logs in {run_dir}")
    else:
        test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
        say(f"incumbent (best validation accuracy at {result.budget:g} epochs): val_acc {result.val_acc:.3f}, "
            f"test_acc {test}")
        say("  " + json.dumps(result.incumbent, sort_keys=True))
        say(f"  it came from {_demo_origin(run_dir, result.incumbent_id)}")
    default_key = config_key(default_configuration())
    context = {}
    say(f"For context, from the shipped meta-data (same task, same split, {meta.max_budget} epochs, not re-run now):")
    if default_key in keys:
        j = keys.index(default_key)
        context["default"] = {"val_acc": float(final[j]), "test_acc": float(meta.test_acc[ti, j])}
        d = meta.configs[j]
        what = f"{d['optimizer']} lr {d['lr']:g}" + (f" momentum {d['momentum']:g}" if "momentum" in d else "")
        label = f"common-practice default ({what}, {d['lr_schedule']}):"
        say(f"  {label:<52} val_acc {final[j]:.3f}, test_acc {meta.test_acc[ti, j]:.3f}")
    if n_stored:
        j = int(np.nanargmax(final))
        context["best_stored"] = {"val_acc": float(final[j]), "test_acc": float(meta.test_acc[ti, j])}
        label = f"best of its {n_stored} stored configurations (by val_acc):"
        say(f"  {label:<52} val_acc {final[j]:.3f}, test_acc {meta.test_acc[ti, j]:.3f}")
    summary["meta_data_context"] = context
    if args.max_budget != meta.max_budget:
        say(f"  (this run's largest budget is {args.max_budget} epochs, the meta-data's {meta.max_budget})")
    (out / "demo.json").write_text(json.dumps(json_safe(summary), indent=1) + "\n")

    plot = run_dir / "trajectory.png"
    say("")
    say(f"Written to {out}/ :")
    say("  recommendations.json     the top recommendations and the tasks it resembles")
    missing = "" if plot.is_file() else " (not written: see the log)"
    say(f"  run/trajectory.png       best accuracy vs budget spent{missing}")
    say("  run/result.json          incumbent, accuracies and trajectory; run/configs.json + run/results.json: "
        "hpbandster's log")
    say("  run/worker_log.jsonl     every fine-tuning job;  demo.json: this summary")
    minutes, seconds = divmod(math.ceil(wall), 60)
    say(f"demo finished in {minutes}m{seconds:02d}s. Next: `hyperstar recommend YOUR_FOLDER`, "
        "`hyperstar tune YOUR_FOLDER`, and the scripts in examples/.")
    return 0


# --------------------------------------------------------------------------- metadata


def cmd_metadata_build(args: argparse.Namespace) -> int:
    from hyperstar.meta.builder import build_meta_dataset

    recipes = None
    if args.tasks:
        from hyperstar.suite import default_suite, tiny_suite

        pool = {r.name: r for r in default_suite() + tiny_suite()}
        if args.tasks == ["tiny"]:
            recipes = tiny_suite()
        else:
            unknown = [t for t in args.tasks if t not in pool]
            if unknown:
                from hyperstar.exceptions import InvalidInputError

                raise InvalidInputError(f"Unknown task(s) {', '.join(unknown)}; see `hyperstar metadata tasks`.")
            recipes = [pool[t] for t in args.tasks]
    meta = build_meta_dataset(
        args.out,
        recipes=recipes,
        n_configs=args.n_configs,
        config_seed=args.config_seed,
        max_budget=args.max_budget,
        noise_configs=args.noise_configs,
        backbone=args.backbone,
        weights=args.weights,
        n_workers=args.workers,
        resolution=args.resolution,
        device=args.device,
        progress=_stderr_tty(),
        max_cells=args.max_cells,
    )
    info = meta.info()
    if args.json:
        _print_json(info)
    else:
        print(f"{info['cells_filled']}/{info['cells_total']} cells filled in {args.out} (complete: {info['complete']})")
    return 0


def cmd_metadata_tasks(args: argparse.Namespace) -> int:
    from hyperstar.suite import default_suite

    rows = [r.to_dict() for r in default_suite()]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<40} {r['family']:<16} {json.dumps(r['params'], sort_keys=True)}")
    return 0


def cmd_metadata_import(args: argparse.Namespace) -> int:
    from hyperstar.meta.importer import import_table

    meta = import_table(args.file, args.out, max_budget=args.max_budget)
    info = meta.info()
    if args.json:
        _print_json(info)
    else:
        print(f"imported {info['n_tasks']} tasks x {info['n_configs']} configurations "
              f"({info['cells_filled']}/{info['cells_total']} cells) into {args.out}")
    return 0


def cmd_metadata_info(args: argparse.Namespace) -> int:
    from hyperstar.meta.analysis import analyze_meta_dataset
    from hyperstar.meta.dataset import load_meta_dataset

    meta = load_meta_dataset(args.path)
    info = meta.info()
    info["analysis"] = analyze_meta_dataset(meta)
    if args.json:
        _print_json(json_safe(info))
        return 0
    a = info.pop("analysis")
    for k, v in info.items():
        print(f"{k:<16} {v}")
    if a.get("n_tasks_analysed", 0) >= 2:
        print(f"\nanalysis over {a['n_tasks_analysed']} complete tasks:")
        for k in ["mean_pairwise_spearman", "distinct_best_configs", "mean_best_minus_median", "mean_best_minus_default",
                  "loto_avg_rank_regret_at_1", "loto_avg_rank_regret_at_3", "mean_spearman_epoch1_vs_final",
                  "seed_noise_mean_abs_diff", "diverged_fraction"]:
            if k in a:
                v = a[k]
                print(f"  {k:<32} {v:.4f}" if isinstance(v, float) else f"  {k:<32} {v}")
    return 0


def cmd_pretrain_source(args: argparse.Namespace) -> int:
    from hyperstar.meta.pretrain import pretrain_source_backbone

    report = pretrain_source_backbone(out=args.out, backbone=args.backbone, epochs=args.epochs, seed=args.seed,
                                      per_class=args.per_class, progress=_stderr_tty())
    _print_json(report) if args.json else print(json.dumps(report, indent=2))
    return 0


# --------------------------------------------------------------------------- recommender


def cmd_fit(args: argparse.Namespace) -> int:
    from hyperstar.meta.dataset import load_meta_dataset
    from hyperstar.ranking.recommender import Recommender

    meta = load_meta_dataset(args.meta)
    rec = Recommender(encoder=args.encoder, steps=args.steps, seed=args.seed, progress=_stderr_tty()).fit(meta)
    out = rec.save(args.out)
    summary = {"model": str(out), "n_tasks": meta.n_tasks, "n_configs": meta.n_configs, "encoder": args.encoder,
               "holdout_tasks": rec.holdout_tasks_, "holdout_spearman": rec.holdout_score_}
    _print_json(summary) if args.json else print(f"saved recommender to {out} (held-out Spearman {rec.holdout_score_})")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from hyperstar.ranking.recommender import Recommender

    rec = Recommender.load(args.model) if args.model else Recommender.default()
    task = _load_task(args.path, args.resolution, 3)
    recs = rec.recommend(task, k=args.k, budget=args.budget, seed=args.seed)
    if args.json:
        _print_json([r.to_dict() for r in recs])
        return 0
    print(f"top {len(recs)} configurations for {args.path} ({len(task)} images, {task.n_classes} classes):")
    for r in recs:
        c = r.config
        mom = f" m={c['momentum']:.2f}" if "momentum" in c else ""
        print(f"{r.rank:>3}. score {r.score:+.2f} ± {r.std:.2f}  {c['optimizer']} lr={c['lr']:.2g}{mom} "
              f"bs={c['batch_size']} {c['train_mode']} {c['lr_schedule']}")
    sims = ", ".join(f"{n} ({s:.2f})" for n, s in rec.similar_tasks(task, k=3, seed=args.seed))
    print(f"resembles: {sims}")
    return 0


# --------------------------------------------------------------------------- hyperparameter optimisation


def _quiet_hpbandster(args: argparse.Namespace) -> None:
    if not args.debug:  # hpbandster's own INFO lines are noise next to ours
        logging.getLogger("hpbandster").setLevel(logging.WARNING)
        logging.getLogger("hyperstar.hpo.hpbandster").setLevel(logging.WARNING)


def _sigterm_as_interrupt() -> None:
    """SIGTERM (a cluster's scheduler, `kill`) shuts a run down as cleanly as Ctrl-C does."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (e.g. main() called from a thread): leave it
        pass


def cmd_tune(args: argparse.Namespace) -> int:
    from hyperstar.exceptions import InvalidInputError
    from hyperstar.hpo import tune

    _quiet_hpbandster(args)
    _sigterm_as_interrupt()
    from pathlib import Path

    if not Path(args.path).is_dir():
        from hyperstar.exceptions import DataError

        raise DataError(f"Dataset folder '{args.path}' does not exist: expected one sub-folder per class (ImageFolder layout).")
    recommender = None
    if args.model:
        from hyperstar.ranking.recommender import Recommender

        recommender = Recommender.load(args.model)
    elif args.warm_start and not args.resume and not args.meta:
        from hyperstar.ranking.recommender import Recommender

        try:
            recommender = Recommender.default()
        except HyperstarError as exc:
            raise InvalidInputError(
                f"A warm start needs a ranking: pass --model MODEL or --meta META, or use --no-warm-start ({exc})"
            ) from None
    result = tune(
        args.path,
        args.optimizer,
        recommender=recommender,
        meta=args.meta,
        warm_start=args.warm_start,
        min_budget=args.min_budget,
        max_budget=args.max_budget,
        eta=args.eta,
        n_iterations=args.n_iterations,
        n_workers=args.workers,
        run_dir=args.run_dir,
        resume=args.resume,
        seed=args.seed,
        backbone=args.backbone,
        weights=args.weights,
        resolution=args.resolution,
        device=args.device,
        random_fraction=args.random_fraction,
        adaptive=args.adaptive,
        generator_options={**({"reserve_top": args.reserve_top} if args.reserve_top else {}),
                           **({} if args.revisit else {"revisit": False})} or None,
        bracket_order=args.bracket_order,
        host=args.host,
        port=args.port,
        secret=args.secret,
        progress=not args.quiet,
    )
    if args.json:
        _print_json(result.to_dict())
        return 0
    if result.incumbent is None:
        print(f"no job finished after {result.n_jobs} job(s); see {result.run_dir}")
        return 0
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
    print(f"incumbent {tuple(result.incumbent_id)}: val_acc {result.val_acc:.3f}, test_acc {test} at "
          f"{result.budget:g} epochs ({result.n_jobs} jobs, {result.total_budget:g} epochs of budget)")
    print(json.dumps(result.incumbent, sort_keys=True))
    print(f"run directory: {result.run_dir} (trajectory.png, configs.json, results.json)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from hyperstar.exceptions import InvalidInputError
    from hyperstar.hpo.seam import SECRET_ENV, read_connection_file
    from hyperstar.hpo.workers import serve_worker

    _quiet_hpbandster(args)
    conn = read_connection_file(args.run_dir) if args.run_dir else {}
    run_id = args.run_id or conn.get("run_id")
    nameserver = args.nameserver or conn.get("host")
    port = args.nameserver_port or conn.get("port")
    if not (run_id and nameserver and port):
        raise InvalidInputError(
            "Say which run to join: --run-dir DIR (of a running tune), or --run-id ID --nameserver HOST --nameserver-port P."
        )
    secret = args.secret or os.environ.get(SECRET_ENV) or conn.get("secret")
    n = serve_worker(str(run_id), nameserver, int(port), secret=secret, host=args.host, data=args.data,
                     device=args.device, threads=args.threads, work_dir=args.work_dir, parent_pid=args.parent_pid,
                     wait=args.wait)
    if args.verbose or args.debug:
        sys.stderr.write(f"hyperstar: worker done after {n} job(s)\n")
    return 0


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperstar", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"hyperstar {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="informational logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("finetune", help="fine-tune a backbone on an image folder with one configuration")
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("--config", help="configuration as JSON text or a JSON file (missing values: defaults)")
    p.add_argument("--epochs", type=int, default=3, help="budget in epochs (default 3)")
    p.add_argument("--max-budget", type=int, default=None,
                   help="horizon of the learning-rate schedule in epochs (default: --epochs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default="smallcnn", help="registered backbone name (default smallcnn)")
    p.add_argument("--weights", default="auto",
                   help="'auto' (shipped source weights if any), 'none', a .pt file, or torchvision weights name")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=3, choices=(1, 3))
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint", help="save the final state here (to resume to a larger budget)")
    p.add_argument("--resume", help="continue from a checkpoint written by --checkpoint")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("space", help="show the default search space")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("metadata", help="build, import and inspect meta-datasets")
    msub = p.add_subparsers(dest="metadata_command", metavar="SUBCOMMAND", required=True)
    b = msub.add_parser("build", help="fine-tune every (task, configuration) cell of a suite (resumable)")
    b.add_argument("--out", default=None, help="output folder (default: the shipped meta_data/default)")
    b.add_argument("--tasks", nargs="*", help="task names of the default suite, or 'tiny' (default: the whole suite)")
    b.add_argument("--n-configs", type=int, default=64, help="size of the Sobol design (plus the default)")
    b.add_argument("--config-seed", type=int, default=0)
    b.add_argument("--max-budget", type=int, default=9)
    b.add_argument("--noise-configs", type=int, default=8, help="configurations also run with a second seed")
    b.add_argument("--backbone", default="smallcnn")
    b.add_argument("--weights", default="auto", help="'auto' (shipped source weights), 'none' or a .pt file")
    b.add_argument("--workers", type=int, default=2, help="worker processes (0: in this process)")
    b.add_argument("--resolution", type=int, default=32)
    b.add_argument("--device", default="auto")
    b.add_argument("--max-cells", type=int, default=None, help="stop after this many new cells")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_metadata_build)
    t = msub.add_parser("tasks", help="list the default task suite")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_metadata_tasks)
    i = msub.add_parser("import", help="import external meta-data from a CSV or JSON Lines table")
    i.add_argument("file")
    i.add_argument("--out", required=True)
    i.add_argument("--max-budget", type=int, default=None)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_metadata_import)
    i = msub.add_parser("info", help="counts and analysis of a meta-dataset")
    i.add_argument("path", nargs="?", default=None, help="meta-dataset folder (default: the shipped one)")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_metadata_info)

    p = sub.add_parser("fit", help="fit a recommender on a meta-dataset")
    p.add_argument("meta", nargs="?", default=None, help="meta-dataset folder (default: the shipped one)")
    p.add_argument("--out", required=True, help="folder to save the recommender in")
    p.add_argument("--encoder", default="stats")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("recommend", help="rank configurations for an image folder before any training")
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--model", default=None, help="saved recommender folder (default: the shipped one)")
    p.add_argument("--budget", type=int, default=None, help="rank for this budget in epochs (default: the maximum)")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("pretrain-source", help="pre-train a small CNN on the source task (ships in meta_data/)")
    p.add_argument("--out", default=None, help="weights file (default: meta_data/backbones/<backbone>_source.pt)")
    p.add_argument("--backbone", default="smallcnn")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--per-class", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pretrain_source)

    p = sub.add_parser("tune", help="task-aware Hyperband / BOHB / random search with real fine-tuning (hpbandster)")
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("--optimizer", choices=("hb", "bohb", "random"), default="bohb")
    p.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=True,
                   help="start from the recommended ranking (default: on; --model, --meta or the shipped recommender)")
    p.add_argument("--model", default=None, help="saved recommender folder to rank with (default: the shipped one)")
    p.add_argument("--meta", default=None,
                   help="meta-dataset folder: average-rank warm start without --model, and needed by --adaptive")
    p.add_argument("--adaptive", action="store_true", help="re-rank the remaining configurations as results come in")
    p.add_argument("--reserve-top", type=int, default=0,
                   help="keep the top K recommendations for brackets that start at the maximum budget, so a "
                        "noisy first epoch cannot kill them (benchmarks/results/warmstart_variants.md)")
    p.add_argument("--revisit", action=argparse.BooleanOptionalAction, default=True,
                   help="give a top recommendation that successive halving stopped early another run in a later "
                        "bracket that starts at a higher budget (default: on; --no-revisit hands each out once; "
                        "benchmarks/results/hpo_tabular.md)")
    p.add_argument("--bracket-order", choices=("aggressive_first", "conservative_first"), default="aggressive_first",
                   help="order of Hyperband's brackets in each round: aggressive_first (default, hpbandster's: many "
                        "configurations at the minimum budget first) or conservative_first (the top-ranked ones at "
                        "the maximum budget first: a good model sooner, more regret after a whole round; "
                        "benchmarks/results/hpo_tabular.md)")
    p.add_argument("--random-fraction", type=float, default=None,
                   help="share of random configurations mixed into the ranking (default: 0 for hb/random, 1/3 for bohb)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per GPU, else 1; 0: only workers started by hand)")
    p.add_argument("--min-budget", type=float, default=1, help="smallest budget in epochs (default 1)")
    p.add_argument("--max-budget", type=int, default=9, help="largest budget in epochs (default 9)")
    p.add_argument("--eta", type=float, default=3, help="successive-halving rate (default 3)")
    p.add_argument("--n-iterations", type=int, default=None, help="Hyperband iterations (default: one full round)")
    p.add_argument("--run-dir", default=None, help="folder for logs, checkpoints and plots (default hyperstar-runs/<id>)")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --run-dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default="smallcnn", help="registered backbone name (default smallcnn)")
    p.add_argument("--weights", default="auto", help="'auto', 'none', a .pt file, or torchvision weights name")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--device", default="auto")
    p.add_argument("--host", default="127.0.0.1",
                   help="address the nameserver and master listen on; this machine's address to let other machines join")
    p.add_argument("--port", type=int, default=0, help="nameserver port (default: a free one)")
    p.add_argument("--secret", default=None,
                   help="shared secret workers must present (default: $HYPERSTAR_SECRET or a random one, "
                        "saved in RUN_DIR/nameserver.json)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("worker", help="join a running `hyperstar tune` as a worker (e.g. from another machine)")
    p.add_argument("--run-dir", default=None, help="run directory of the tune (reads its nameserver.json)")
    p.add_argument("--run-id", default=None, help="run id (in RUN_DIR/nameserver.json)")
    p.add_argument("--nameserver", default=None, help="address of the tune's nameserver")
    p.add_argument("--nameserver-port", type=int, default=None, help="port of the tune's nameserver")
    p.add_argument("--secret", default=None, help="the run's shared secret (default: $HYPERSTAR_SECRET)")
    p.add_argument("--host", default="127.0.0.1", help="this machine's address as the master can reach it")
    p.add_argument("--data", default=None, help="the image folder on this machine (default: the path the tune uses)")
    p.add_argument("--work-dir", default=None, help="folder for checkpoints here (default: the tune's run directory)")
    p.add_argument("--device", default=None, help="device (default: the tune's, usually 'auto')")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the nameserver (default 30)")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo",
                       help="recommend for a task the shipped recommender never saw, then run task-aware BOHB on it")
    p.add_argument("--task", default=None,
                   help=f"shipped task to demo on (default {DEMO_TASK}, held out of the recommender's training)")
    p.add_argument("--out", default="hyperstar-demo",
                   help="output folder (default ./hyperstar-demo; replaced on rerun)")
    p.add_argument("--top", type=int, default=5, help="recommendations to show (default 5)")
    p.add_argument("--iterations", type=int, default=9,
                   help="Hyperband iterations of BOHB (default 9: three full rounds; 60 jobs with the default budgets)")
    p.add_argument("--min-budget", type=float, default=1, help="smallest budget in epochs (default 1)")
    p.add_argument("--max-budget", type=int, default=9, help="largest budget in epochs (default 9, as the meta-data)")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="hyperstar: %(levelname)s: %(message)s", stream=sys.stderr)

    def show(message, category, filename, lineno, file=None, line=None):  # one clean line per warning
        sys.stderr.write(f"hyperstar: warning: {message}\n")

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "weights", None) == "none":
        args.weights = None
    if getattr(args, "command", None) == "metadata" and getattr(args, "out", "x") is None:
        from hyperstar._internal.paths import meta_data_dir

        args.out = str(meta_data_dir() / "default")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _setup_logging(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("hyperstar: interrupted\n")
        return 130
    except HyperstarError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"hyperstar: error: {exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # anything unexpected: still one line unless --debug
        if args.debug:
            raise
        sys.stderr.write(f"hyperstar: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)\n")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
