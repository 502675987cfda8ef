"""``hyperstar demo``: runs :func:`hyperstar.demo.run_demo` and prints its report as each stage ends."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from hyperstar._version import __version__
from hyperstar.cli._common import budget_flags, quiet_hpbandster, seed_flag, sigterm_as_interrupt
from hyperstar.demo import DEMO_TASK

#: the schedule column fits space version 2's longest, "slanted_triangular" (which takes no warmup)
CONFIG_HEADER = (f"{'optim':<6} {'lr':>7} {'mom':>4} {'wd':>5} {'bs':>3} {'train_mode':<12} {'schedule':<18} "
                 f"{'l2sp':>5}")

#: how the generator's ``source`` of a configuration reads
_SOURCES = {"ranking": "the recommender's ranking (#{rank})",
            "model": "BOHB's density model (fitted on the results so far)",
            "random": "a random sample of the search space (BOHB's exploration share)"}


def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="recommend for a task the shipped recommender never saw, then run task-aware BOHB on it",
                       parents=[budget_flags("largest budget in epochs (default 9, as the meta-data)"), seed_flag()])
    p.add_argument("--task", default=None,
                   help=f"shipped task to demo on (default {DEMO_TASK} if the recommender holds it out, else its "
                        "first held-out task that needs no Debian package)")
    p.add_argument("--out", default="hyperstar-demo", help="output folder (default ./hyperstar-demo; replaced on rerun)")
    p.add_argument("--top", type=int, default=5, help="recommendations to show (default 5)")
    p.add_argument("--iterations", type=int, default=9,
                   help="Hyperband iterations of BOHB (default 9: three full rounds; 60 jobs with the default budgets)")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.set_defaults(func=cmd_demo)


def format_config_row(c: dict[str, Any]) -> str:
    """One configuration as a row under :data:`CONFIG_HEADER`."""
    mom = f"{c['momentum']:.2f}" if "momentum" in c else "-"
    wd = f"{c['weight_decay']:.0e}" if "weight_decay" in c else "-"
    l2sp = f"{c['l2sp_strength']:.0e}" if "l2sp_strength" in c else "-"
    sched = c["lr_schedule"] + ("+warmup" if c.get("warmup") == "linear" else "")
    return (f"{c['optimizer']:<6} {c['lr']:>7.1e} {mom:>4} {wd:>5} {c['batch_size']:>3} {c['train_mode']:<12} "
            f"{sched:<18} {l2sp:>5}")


def describe_source(info: dict[str, Any]) -> str:
    """Where the generator got a configuration: the recommender's ranking, BOHB's model, or at random.

    >>> describe_source({"source": "ranking", "rank": 2})
    "the recommender's ranking (#2)"
    >>> describe_source({})
    'the optimizer (origin not logged)'
    """
    template = _SOURCES.get(info.get("source"))
    return "the optimizer (origin not logged)" if template is None else template.format(rank=info.get("rank"))


def _say(line: str = "") -> None:
    print(line, flush=True)


def _elapsed(r) -> str:
    return f"[{time.time() - r.started:5.1f}s]"


def _loading(r) -> None:
    _say(f"hyperstar {__version__} demo: recommend fine-tuning hyperparameters for a task the recommender has "
         "never seen, then run task-aware BOHB on it with real fine-tuning.")
    _say(f"{_elapsed(r)} loading the shipped recommender and meta-dataset ...")


def _building(r) -> None:
    _say(f"{_elapsed(r)} building task {r.task} from its recipe ...")


def _task(r) -> None:
    params = ", ".join(f"{k}={v}" for k, v in r.params.items())
    _say("")
    _say(f"task: {r.task}  ({r.n_images} images, {r.n_classes} classes, {r.resolution}x{r.resolution}; "
         f"family {r.family}: {params})")
    _say("      not used to train the shipped recommender (one of its held-out tasks)" if r.note is None
         else f"      note: {r.note}")


def _recommended(r) -> None:
    _say("")
    _say(f"Top {r.top} configurations recommended for it, before any training on it "
         f"(score: predicted accuracy in per-task z units, ± spread over image batches):")
    _say(f"rank  {'score':<12}  {CONFIG_HEADER} | meta-data: val  test  rank")
    for row in r.recommendations:
        s = row["meta_data"]
        known = (f"| {s['val_acc']:>13.3f} {s['test_acc']:>5.3f} {s['rank']:>3}/{s['of']}" if s
                 else "|  (a fresh sample: not in the meta-data)")
        _say(f"{row['rank']:>4}  {row['score']:+.2f} ± {row['std']:.2f}  {format_config_row(row['config'])} {known}")
    _say(f"  (meta-data columns: what that configuration actually reached on this task after {r.meta_max_budget} "
         f"epochs, stored in the shipped meta-data and not shown to the recommender; rank among its {r.n_stored} "
         "configurations)")
    _say("It resembles (cosine similarity of task embeddings, among the tasks the recommender was trained on): "
         + ", ".join(f"{n} ({s:.2f})" for n, s in r.similar_tasks))


def _tuning(r) -> None:
    s = r.settings
    _say("")
    _say(f"{_elapsed(r)} task-aware BOHB: budgets {s['min_budget']:g}-{s['max_budget']} epochs, eta {s['eta']}, "
         f"{s['n_iterations']} Hyperband iteration(s), {s['n_workers']} local worker process(es), real fine-tuning "
         "(the recommender's ranking replaces BOHB's random picks)")


def _done(r) -> None:
    res = r.result
    _say("")
    _say(f"{_elapsed(r)} done: {res.n_jobs} jobs, {res.total_budget:g} epochs of budget "
         f"({res.total_epochs:g} trained: promotions continue from checkpoints)")
    if res.incumbent is None:
        _say(f"no job finished; see the logs in {r.run_dir}")
    else:
        test = "n/a" if res.test_acc is None else f"{res.test_acc:.3f}"
        _say(f"incumbent (best validation accuracy at {res.budget:g} epochs): val_acc {res.val_acc:.3f}, "
             f"test_acc {test}")
        _say("  " + json.dumps(res.incumbent, sort_keys=True))
        _say(f"  it came from {describe_source(r.incumbent_source)}")
    _say(f"For context, from the shipped meta-data (same task, same split, {r.meta_max_budget} epochs, not re-run now):")
    if "default" in r.context:
        d, acc = r.default_config, r.context["default"]
        what = f"{d['optimizer']} lr {d['lr']:g}" + (f" momentum {d['momentum']:g}" if "momentum" in d else "")
        label = f"common-practice default ({what}, {d['lr_schedule']}):"
        _say(f"  {label:<52} val_acc {acc['val_acc']:.3f}, test_acc {acc['test_acc']:.3f}")
    if "best_stored" in r.context:
        acc = r.context["best_stored"]
        label = f"best of its {r.n_stored} stored configurations (by val_acc):"
        _say(f"  {label:<52} val_acc {acc['val_acc']:.3f}, test_acc {acc['test_acc']:.3f}")
    if r.settings["max_budget"] != r.meta_max_budget:
        _say(f"  (this run's largest budget is {r.settings['max_budget']} epochs, the meta-data's {r.meta_max_budget})")
    _say("")
    _say(f"Written to {r.out}/ :")
    _say("  recommendations.json     the top recommendations and the tasks it resembles")
    missing = "" if r.plot.is_file() else " (not written: see the log)"
    _say(f"  run/trajectory.png       best accuracy vs budget spent{missing}")
    _say("  run/result.json          incumbent, accuracies and trajectory; run/configs.json + run/results.json: "
         "hpbandster's log")
    _say("  run/worker_log.jsonl     every fine-tuning job;  demo.json: this summary")
    minutes, seconds = divmod(math.ceil(r.wall_time_s), 60)
    _say(f"demo finished in {minutes}m{seconds:02d}s. Next: `hyperstar recommend YOUR_FOLDER`, "
         "`hyperstar tune YOUR_FOLDER`, and the scripts in examples/.")


_PRINTERS = {"loading": _loading, "building": _building, "task": _task, "recommended": _recommended,
             "tuning": _tuning, "done": _done}


def cmd_demo(args: argparse.Namespace) -> int:
    from hyperstar.demo import run_demo

    quiet_hpbandster(args.debug)
    sigterm_as_interrupt()
    run_demo(args.task, args.out, top=args.top, iterations=args.iterations, min_budget=args.min_budget,
             max_budget=args.max_budget, workers=args.workers, seed=args.seed,
             on_stage=lambda stage, report: _PRINTERS[stage](report), on_job=lambda line: _say(f"  {line}"))
    return 0
