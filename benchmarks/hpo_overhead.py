"""hpbandster's coordination cost per job with 1, 2, 4 and 8 local workers (a trivial objective).

Run:  .venv/bin/python benchmarks/hpo_overhead.py [--workers 1,2,4,8] [--iterations 6] [--repeats 3] [--out DIR]

The objective returns at once, so everything measured is coordination: hyperstar's nameserver and
master, hpbandster's dispatcher and Pyro calls, the result logger and the worker threads. Each
run is the real loop of :func:`hyperstar.hpo.optimize` (Hyperband, budgets 1-9, eta 3, worker
threads of this process, ``plot=False``); the worker counts are interleaved over ``--repeats``
repetitions. Per job = run wall time / jobs (start-up included); the start-up alone (the time to
the first job's start) is reported beside it. On a 2-core machine shared with other work, more
workers mostly add contention. Writes hpo_overhead.json, .md and .png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_common import header, load_text, run_meta, save_plot, write_json  # noqa: E402

from hyperstar.hpo import optimize  # noqa: E402
from hyperstar.hpo.log import read_log  # noqa: E402


def instant(config, budget, *, checkpoint_dir, previous_checkpoint):
    """A trivial objective: a loss from the learning rate, no work."""
    return float(abs(np.log10(config["lr"]) + 2.0)) / (1.0 + budget)


def one_run(workers: int, iterations: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.time()
        res = optimize(instant, optimizer="hb", min_budget=1, max_budget=9, eta=3, n_iterations=iterations,
                       n_workers=workers, worker_mode="thread", run_dir=Path(folder) / "run", seed=seed, plot=False)
        wall = time.time() - t0
        _, results = read_log(Path(folder) / "run")
    started = [float(ts.get("started") or 0) for _, _, ts, _, _ in results if ts]
    first = min(started) - t0 if started else float("nan")
    return {"wall_s": wall, "jobs": res.n_jobs, "per_job_s": wall / max(res.n_jobs, 1),
            "startup_s": first, "per_job_after_startup_s": (wall - first) / max(res.n_jobs, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--stem", default="hpo_overhead")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    runs: dict[int, list[dict]] = {w: [] for w in counts}
    for r in range(args.repeats):
        for w in (counts if r % 2 == 0 else counts[::-1]):
            runs[w].append(one_run(w, args.iterations, seed=r))
            print(f"workers {w}: {runs[w][-1]['per_job_s'] * 1000:.1f} ms per job ({runs[w][-1]['jobs']} jobs)", flush=True)
    rows = []
    for w in counts:
        per = [x["per_job_s"] for x in runs[w]]
        rows.append({"workers": w, "jobs": runs[w][0]["jobs"], "per_job_s_median": float(np.median(per)),
                     "per_job_s_min": float(min(per)), "per_job_s_max": float(max(per)),
                     "per_job_after_startup_s_median": float(np.median([x["per_job_after_startup_s"] for x in runs[w]])),
                     "startup_s_median": float(np.median([x["startup_s"] for x in runs[w]])), "runs": runs[w]})
    meta = run_meta("hpo_overhead.py", argv, iterations=args.iterations, repeats=args.repeats)
    out = write_json(Path(args.out), args.stem, meta, rows).parent
    lines = [*header("hpbandster coordination per job vs local workers (trivial objective)", meta),
             f"Hyperband, budgets 1-9, eta 3, {args.iterations} iterations, worker threads; median of "
             f"{args.repeats} interleaved repetitions (min-max beside it). {meta['cpu_count']} CPUs, load average at "
             f"the end {load_text(meta)}: the machine was shared, and with "
             "2 cores more than 2 workers can only add contention.", "",
             "| workers | jobs | per job, start-up included (ms) | min-max (ms) | per job after the first start (ms) | "
             "start-up to the first job (s) |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['jobs']} | {1000 * r['per_job_s_median']:.1f} | "
                     f"{1000 * r['per_job_s_min']:.1f}-{1000 * r['per_job_s_max']:.1f} | "
                     f"{1000 * r['per_job_after_startup_s_median']:.1f} | {r['startup_s_median']:.2f} |")
    (out / f"{args.stem}.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.errorbar(counts, [1000 * r["per_job_s_median"] for r in rows],
                yerr=[[1000 * (r["per_job_s_median"] - r["per_job_s_min"]) for r in rows],
                      [1000 * (r["per_job_s_max"] - r["per_job_s_median"]) for r in rows]],
                marker="o", capsize=3, label="per job, start-up included")
    ax.plot(counts, [1000 * r["per_job_after_startup_s_median"] for r in rows], marker="s", label="after the first job")
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(c) for c in counts])
    save_plot(fig, ax, out / f"{args.stem}.png", xlabel="local workers (threads)", ylabel="ms per job",
              title="hpbandster coordination per job (trivial objective)")
    print(f"wrote {out / args.stem}.md, .json and .png")


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)
