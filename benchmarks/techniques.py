"""Do the fine-tuning techniques help, and where? WiSE-FT, discriminative rates, gradual unfreezing, the slanted
triangular schedule and STILTs, each against the same configuration without it, on the shipped tasks.

Run:  .venv/bin/python benchmarks/techniques.py [--tasks all|per-family] [--seeds 2] [--report-only]

For every task of the shipped meta-data (``--tasks per-family``: the first task of each family), every base
configuration and every seed, real fine-tunes of the shipped backbone (``smallcnn`` from its shipped source
weights, 32 px, 9 epochs: the shipped meta-data's settings and split) run as

* ``plain``: the base configuration;
* ``layer_decay``: the same with ``layer_lr_decay`` 0.5 (ULMFiT's discriminative rates; 1/2.6 in the paper);
* ``gradual``: the same with ``unfreeze`` gradual (one more layer group each epoch, from the head);
* ``stlr``: the same with ``lr_schedule`` slanted_triangular (its own rise replaces any warm-up);
* ``stilts``: 2 epochs on the known task the shipped recommender finds most similar (the target itself left
  out) among those whose stage costs at most 3 of the 9 epochs, then the target, the intermediate stage's cost
  counted in the 9 epochs.

The base configurations are ``default`` (the common-practice default, c0000 of the meta-data) and
``portfolio`` (the top configuration of the average-rank portfolio of the *other* tasks: never chosen on the
task it is judged on). WiSE-FT is read off every run: the alpha chosen on validation against alpha = 1, on the
test split (in distribution) and the shifted split (the test images under the fixed corruption of
``hyperstar.data.shift``: out of distribution).

In-sample note: the shipped recommender that picks STILTs' intermediate task was fitted on all shipped tasks,
the target included (its similarity is therefore in-sample; the target itself is excluded as intermediate).
The technique settings (0.5, 2 epochs) are the papers' defaults, not tuned here.

``--wise-cost`` measures WiSE-FT's share of a run's wall time at budgets 1, 3 and 9 (one task per family).

Rows go to ``benchmarks/results/techniques_rows.jsonl`` as they finish (a re-run skips finished ones; kill it
any time); ``--report-only`` rebuilds ``techniques.md`` / ``.json`` / ``.png`` from the rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar.exceptions import InvalidInputError  # noqa: E402
from hyperstar.meta.dataset import append_record, load_meta_dataset, read_records  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ROWS = "techniques_rows.jsonl"
#: the command of the rows written before rows named theirs (the first run, all tasks, whose STILTs rows were
#: removed when STILTs' "auto" learnt to leave out intermediate tasks too large for the horizon, and the
#: per-family run that followed)
LEGACY = "python benchmarks/techniques.py --seeds 1 [--tasks per-family] (before rows recorded their command)"
VARIANTS = ("plain", "layer_decay", "gradual", "stlr", "stilts")
TECHNIQUES = {"layer_decay": {"layer_lr_decay": 0.5}, "gradual": {"unfreeze": "gradual"},
              "stlr": {"lr_schedule": "slanted_triangular"}}
STILTS_EPOCHS = 2
COMMAND = "python benchmarks/techniques.py " + " ".join(sys.argv[1:])
#: differences smaller than this (accuracy points) count as ties
TIE = 0.5


def base_configs(meta, t: int) -> dict[str, dict]:
    from hyperstar.ranking.baselines import AverageRank

    others = [i for i in range(meta.n_tasks) if i != t]
    top = int(AverageRank().fit(meta.subset(others)).order()[0])
    return {"default": dict(meta.configs[meta.default_index]), "portfolio": dict(meta.configs[top])}


def variant_config(base: dict, variant: str) -> dict:
    from hyperstar.space import validate_configuration

    config = validate_configuration(base)  # the version-2 space: the techniques off
    if variant in TECHNIQUES:
        config.update(TECHNIQUES[variant])
        if variant == "stlr":
            config.pop("warmup", None)
        if variant in ("layer_decay", "gradual") and config["train_mode"] == "linear_probe":
            return {}  # only the head trains: the technique does not apply
    return validate_configuration(config)


def run_cell(meta, t: int, base_name: str, base: dict, variant: str, seed: int, task, recommender) -> dict | None:
    from hyperstar.finetune import fine_tune
    from hyperstar.stilts import fine_tune_stilts

    config = variant_config(base, variant)
    if not config:
        return None
    kwargs = dict(budget=meta.max_budget, max_budget=meta.max_budget, backbone=meta.manifest["backbone"],
                  weights="auto", seed=seed, split=task.split(val_fraction=0.2, test_fraction=0.2,
                                                               seed=meta.manifest["split_seed"]), device="cpu")
    t0 = time.perf_counter()
    if variant == "stilts":
        r = fine_tune_stilts(task, config, intermediate="auto", intermediate_epochs=STILTS_EPOCHS,
                             recommender=recommender, meta=meta, exclude=[meta.task_names[t]], **kwargs)
    else:
        r = fine_tune(task, config, **kwargs)
    return {"command": COMMAND, "task": meta.task_names[t], "family": meta.families[t], "base": base_name,
            "variant": variant,
            "seed": seed, "config": config, "val_acc": r.val_acc, "test_acc": r.test_acc,
            "shifted_acc": r.shifted_acc, "diverged": r.diverged, "wise_ft": r.wise_ft,
            "wall_time": time.perf_counter() - t0, "stilts": r.extra.get("stilts")}


def run(args) -> None:
    import torch

    from hyperstar.ranking import Recommender
    from hyperstar.suite import make_task

    torch.set_num_threads(args.threads)
    meta = load_meta_dataset()
    tasks = list(range(meta.n_tasks))
    if args.tasks == "per-family":
        tasks = sorted({meta.families[t]: t for t in reversed(tasks)}.values())
    rows_path = RESULTS / ROWS
    done = {(r["task"], r["base"], r["variant"], r["seed"]) for r in read_records(rows_path)}
    recommender = Recommender.default()
    jobs = [(t, b, v, s) for s in range(args.seeds) for t in tasks for b in ("default", "portfolio") for v in VARIANTS
            if (meta.task_names[t], b, v, s) not in done]
    print(f"{len(done)} rows done, {len(jobs)} to run ({len(tasks)} tasks x 2 bases x {len(VARIANTS)} variants x "
          f"{args.seeds} seeds)", file=sys.stderr)
    from tqdm.auto import tqdm

    cache: dict[int, object] = {}
    for t, b, v, s in tqdm(jobs, desc="techniques", unit="run"):
        if t not in cache:
            cache.clear()
            cache[t] = make_task(meta.recipes[t], resolution=int(meta.manifest["resolution"]))
        skipped = "the technique does not apply to this base configuration (linear probe)"
        try:
            row = run_cell(meta, t, b, base_configs(meta, t)[b], v, s, cache[t], recommender)
        except InvalidInputError as exc:  # STILTs: no known task small enough for a third of the horizon
            row, skipped = None, str(exc)
        append_record(rows_path, row if row is not None else {
            "command": COMMAND, "task": meta.task_names[t], "family": meta.families[t], "base": b, "variant": v,
            "seed": s, "skipped": skipped})


# --------------------------------------------------------------------------- report


def _stats(deltas: list[float]) -> dict:
    d = np.asarray(deltas, dtype=float)
    if not d.size:
        return {"n": 0}
    out = {"n": int(d.size), "mean": float(d.mean()), "median": float(np.median(d)),
           "wins": int((d > TIE).sum()), "ties": int((np.abs(d) <= TIE).sum()), "losses": int((d < -TIE).sum())}
    if (d != 0).sum() >= 6:  # Wilcoxon signed-rank, two-sided, zero differences dropped
        from scipy.stats import wilcoxon

        out["wilcoxon_p"] = float(wilcoxon(d[d != 0]).pvalue)
    return out


def report(args) -> dict:
    every = read_records(RESULTS / ROWS)
    rows = [r for r in every if not r.get("skipped")]
    skipped = defaultdict(int)
    for r in every:
        if r.get("skipped"):
            skipped[f"{r['variant']}: {r['skipped'].split(':')[0].split(' (')[0]}"] += 1
    if not rows:
        raise SystemExit(f"No rows in {RESULTS / ROWS}: run the benchmark first.")
    by = {(r["task"], r["base"], r["variant"], r["seed"]): r for r in rows}
    families = sorted({r["family"] for r in rows})
    out: dict = {"command": COMMAND, "row_commands": sorted({r.get("command") or LEGACY for r in every}),
                 "skipped": dict(skipped), "n_rows": len(rows), "tasks": sorted({r["task"] for r in rows}),
                 "seeds": sorted({r["seed"] for r in rows}), "tie_points": TIE, "families": families}
    # techniques against plain, test accuracy in points (and shifted)
    tech: dict = {}
    for v in VARIANTS[1:]:
        for split in ("test_acc", "shifted_acc"):
            per_family = defaultdict(list)
            for (task, b, var, s), r in by.items():
                p = by.get((task, b, "plain", s))
                if var != v or p is None or r[split] is None or p[split] is None:
                    continue
                per_family[r["family"]].append(100 * (r[split] - p[split]))
            tech[f"{v}|{split}"] = {"all": _stats([x for f in per_family.values() for x in f]),
                                    **{f: _stats(per_family[f]) for f in families}}
    out["techniques_vs_plain"] = tech
    # WiSE-FT: alpha chosen on validation vs alpha 1, over every run that has it
    wise: dict = {}
    curves = defaultdict(lambda: defaultdict(list))
    chosen = defaultdict(int)
    for split in ("test", "shifted"):
        per_family = defaultdict(list)
        for r in rows:
            w = r.get("wise_ft")
            if not w or w.get("best_alpha") is None or w[split][-1] is None:
                continue
            i = w["alphas"].index(w["best_alpha"])
            per_family[r["family"]].append(100 * (w[split][i] - w[split][-1]))
            for a, acc in zip(w["alphas"], w[split]):
                curves[(r["family"], split)][a].append(acc)
            if split == "test":
                chosen[w["best_alpha"]] += 1
        wise[split] = {"all": _stats([x for f in per_family.values() for x in f]),
                       **{f: _stats(per_family[f]) for f in families}}
    out["wise_ft_best_vs_alpha1"] = wise
    out["wise_ft_alpha_chosen"] = {str(a): n for a, n in sorted(chosen.items())}
    out["wise_ft_mean_by_alpha"] = {f"{f}|{s}": {str(a): float(np.mean(v)) for a, v in sorted(d.items())}
                                    for (f, s), d in sorted(curves.items())}
    secs = sum(r["wise_ft"]["seconds"] for r in rows if r.get("wise_ft"))
    wall = sum(r["wall_time"] for r in rows if r.get("wise_ft"))
    out["wise_ft_cost_share"] = secs / wall if wall else None
    stilts = [r["stilts"] for r in rows if r.get("stilts")]
    out["stilts_intermediates"] = sorted({f"{s['intermediate']}" for s in stilts})
    out["stilts_cost_epochs_mean"] = float(np.mean([s["cost_epochs"] for s in stilts])) if stilts else None
    (RESULTS / "techniques.json").write_text(json.dumps(out, indent=1) + "\n")
    _markdown(out, families)
    _plot(out, families)
    return out


def _cell(s: dict, p: bool = False) -> str:
    if not s.get("n"):
        return "n/a"
    text = f"{s['mean']:+.2f} ({s['wins']}/{s['ties']}/{s['losses']})"
    return text + (f", p={s['wilcoxon_p']:.2g}" if p and "wilcoxon_p" in s else "")


def _markdown(out: dict, families: list[str]) -> None:
    lines = [
        "# Fine-tuning techniques against the same configuration without them",
        "",
        "Report: `python benchmarks/techniques.py --report-only`; rows made by "
        + "; ".join(f"`{c}`" for c in out["row_commands"]) + " (resumable: each skips the rows already there).  ",
        f"{out['n_rows']} fine-tunes: {len(out['tasks'])} shipped tasks ({len(families)} families) x 2 base "
        f"configurations (`default`, `portfolio`: the leave-one-task-out average-rank top) x {len(VARIANTS)} variants x "
        f"seeds {out['seeds']}; smallcnn from its shipped source weights, 32 px, 9 epochs (the shipped horizon), "
        "the meta-data's split, CPU, 1 thread. Cells: mean difference in accuracy points over (task, base, seed) "
        f"pairs, and wins/ties/losses (a tie is within {out['tie_points']} points); in the `all` column the two-sided "
        "Wilcoxon signed-rank p. Test = in distribution; "
        "shifted = the test images under the fixed corruption (noise, blur, contrast, colour).",
        "",
        "## Techniques vs plain (test accuracy, points)",
        "",
        "| technique | all | " + " | ".join(families) + " |",
        "|---|---:|" + "---:|" * len(families),
    ]
    for v in VARIANTS[1:]:
        for split, label in (("test_acc", "test"), ("shifted_acc", "shifted")):
            s = out["techniques_vs_plain"][f"{v}|{split}"]
            lines.append(f"| {v} ({label}) | {_cell(s['all'], True)} | " + " | ".join(_cell(s[f]) for f in families) + " |")
    lines += ["", "## WiSE-FT: alpha chosen on validation vs alpha = 1 (every run)", "",
              "| split | all | " + " | ".join(families) + " |", "|---|---:|" + "---:|" * len(families)]
    for split in ("test", "shifted"):
        s = out["wise_ft_best_vs_alpha1"][split]
        lines.append(f"| {split} | {_cell(s['all'], True)} | " + " | ".join(_cell(s[f]) for f in families) + " |")
    share = out["wise_ft_cost_share"]
    lines += ["", f"Alphas chosen (count of runs): {out['wise_ft_alpha_chosen']}.  ",
              f"WiSE-FT's cost: {100 * share:.1f}% of the runs' wall time (4 interpolations x 3 splits + the shifted "
              "split at alpha 1, skipped where the body did not move)." if share is not None else "",
              f"STILTs intermediates chosen: {', '.join(out['stilts_intermediates'])}; mean cost "
              f"{out['stilts_cost_epochs_mean']:.2f} of 9 epochs." if out["stilts_intermediates"] else "",
              "Skipped cells (not in the tables): " + (", ".join(f"{k} ({n})" for k, n in out["skipped"].items())
                                                        or "none") + ".",
              "", "Plot: `techniques.png` (left: mean difference per technique and family; right: WiSE-FT accuracy "
              "against alpha, mean over runs).", ""]
    cost = RESULTS / "techniques_wise_cost.json"
    if cost.is_file():
        c = json.loads(cost.read_text())
        lines.insert(-3, "By budget (`" + c["command"] + "`, `techniques_wise_cost.json`, default configuration, "
                     f"{len(c['tasks'])} tasks): WiSE-FT's share of the wall time is "
                     + ", ".join(f"{100 * v:.0f}% at {b} epoch(s)" for b, v in c["share_of_wall_time"].items()) + ".")
    (RESULTS / "techniques.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _plot(out: dict, families: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    techs = list(VARIANTS[1:]) + ["wise_ft"]
    width = 0.8 / len(techs)
    x = np.arange(len(families))
    for k, v in enumerate(techs):
        s = out["wise_ft_best_vs_alpha1"]["test"] if v == "wise_ft" else out["techniques_vs_plain"][f"{v}|test_acc"]
        ax1.bar(x + k * width, [s[f].get("mean", np.nan) for f in families], width, label=v)
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set_xticks(x + 0.4 - width / 2, families, rotation=30, ha="right")
    ax1.set_ylabel("test accuracy vs plain / alpha 1 (points)")
    ax1.legend(fontsize=8)
    for i, f in enumerate(families):
        for split, style in (("test", "-"), ("shifted", "--")):
            d = out["wise_ft_mean_by_alpha"].get(f"{f}|{split}")
            if d:
                ax2.plot([float(a) for a in d], list(d.values()), style, color=f"C{i % 10}", label=f"{f} {split}")
    ax2.set_xlabel("WiSE-FT alpha (0: pre-trained body, 1: fine-tuned)")
    ax2.set_ylabel("accuracy")
    ax2.set_title("solid: test, dashed: shifted", fontsize=9)
    ax2.legend(fontsize=6, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / "techniques.png", dpi=110)


def wise_cost(args) -> None:
    """WiSE-FT's share of a run's wall time at budgets 1, 3 and 9 (a Hyperband job at the smallest budget pays the
    same evaluation for less training), the default configuration, one task per family."""
    import torch

    from hyperstar.finetune import fine_tune
    from hyperstar.suite import make_task

    torch.set_num_threads(args.threads)
    meta = load_meta_dataset()
    tasks = sorted({meta.families[t]: t for t in reversed(range(meta.n_tasks))}.values())
    config = dict(meta.configs[meta.default_index])
    share: dict = defaultdict(lambda: [0.0, 0.0])
    for t in tasks:
        task = make_task(meta.recipes[t], resolution=int(meta.manifest["resolution"]))
        for budget in (1, 3, 9):
            r = fine_tune(task, config, budget=budget, max_budget=meta.max_budget, seed=0, device="cpu")
            share[budget][0] += r.wise_ft["seconds"]
            share[budget][1] += r.wall_time
    out = {"command": COMMAND, "tasks": [meta.task_names[t] for t in tasks],
           "share_of_wall_time": {str(b): s / w for b, (s, w) in share.items()}}
    (RESULTS / "techniques_wise_cost.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", choices=("all", "per-family"), default="all")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--wise-cost", action="store_true",
                        help="only measure WiSE-FT's share of the wall time at budgets 1, 3, 9 (techniques_wise_cost.json)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.wise_cost:
        return wise_cost(args)
    if not args.report_only:
        run(args)
    report(args)


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)
