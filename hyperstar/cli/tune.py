"""``hyperstar tune`` (task-aware Hyperband / BOHB with real fine-tuning) and ``hyperstar worker`` (join one)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hyperstar.cli._common import (
    backbone_flags,
    budget_flags,
    device_flag,
    first_set,
    image_flags,
    json_flag,
    model_flag,
    print_json,
    quiet_hpbandster,
    seed_flag,
    sigterm_as_interrupt,
)
from hyperstar.cli.ranking import FALLBACK_RESOLUTION, load_recommender, model_resolution

#: the backbone when neither the flag, the meta-data nor the model says
FALLBACK_BACKBONE = "smallcnn"


def add_tune(sub) -> None:
    p = sub.add_parser("tune", help="task-aware Hyperband / BOHB / random search with real fine-tuning (hpbandster)",
                       parents=[model_flag("saved recommender folder to rank with (default: the shipped one)"),
                                budget_flags(), seed_flag(),
                                backbone_flags(None, help="registered backbone name (default: the one of --meta's "
                                                          f"manifest, else of the recommender, else {FALLBACK_BACKBONE})"),
                                image_flags(None, help="image resolution (default: --meta's manifest's, else the "
                                                       f"recommender's, else {FALLBACK_RESOLUTION})"),
                                device_flag(), json_flag()])
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("--optimizer", choices=("hb", "bohb", "random"), default="bohb")
    p.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=True,
                   help="start from the recommended ranking (default: on; --model, --meta or the shipped recommender)")
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
    p.add_argument("--eta", type=float, default=3, help="successive-halving rate (default 3)")
    p.add_argument("--n-iterations", type=int, default=None, help="Hyperband iterations (default: one full round)")
    p.add_argument("--run-dir", default=None, help="folder for logs, checkpoints and plots (default hyperstar-runs/<id>)")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --run-dir")
    p.add_argument("--host", default="127.0.0.1",
                   help="address the nameserver and master listen on; this machine's address to let other machines join")
    p.add_argument("--port", type=int, default=0, help="nameserver port (default: a free one)")
    p.add_argument("--secret", default=None,
                   help="shared secret workers must present (default: $HYPERSTAR_SECRET or a random one, "
                        "saved in RUN_DIR/nameserver.json)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_tune)


def add_worker(sub) -> None:
    p = sub.add_parser("worker", help="join a running `hyperstar tune` as a worker (e.g. from another machine)",
                       parents=[device_flag(None, help="device (default: the tune's, usually 'auto')")])
    p.add_argument("--run-dir", default=None, help="run directory of the tune (reads its nameserver.json)")
    p.add_argument("--run-id", default=None, help="run id (in RUN_DIR/nameserver.json)")
    p.add_argument("--nameserver", default=None, help="address of the tune's nameserver")
    p.add_argument("--nameserver-port", type=int, default=None, help="port of the tune's nameserver")
    p.add_argument("--secret", default=None, help="the run's shared secret (default: $HYPERSTAR_SECRET)")
    p.add_argument("--host", default="127.0.0.1", help="this machine's address as the master can reach it")
    p.add_argument("--data", default=None, help="the image folder on this machine (default: the path the tune uses)")
    p.add_argument("--work-dir", default=None, help="folder for checkpoints here (default: the tune's run directory)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--objective", default=None,
                   help="module:function of an optimize() run's objective here (default: the one the run published)")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the nameserver (default 30)")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_worker)


def run_defaults(args: argparse.Namespace, recommender=None, meta=None) -> dict[str, Any]:
    """``resolution`` and ``backbone`` for the run: the flag, else the meta-data's manifest (what its curves
    were measured with), else the recommender's saved settings, else the fallback."""
    manifest = getattr(meta, "manifest", None) or {}
    return {"resolution": first_set(args.resolution, manifest.get("resolution"),
                                    model_resolution(recommender) if recommender is not None else None,
                                    FALLBACK_RESOLUTION),
            "backbone": first_set(args.backbone, manifest.get("backbone"), getattr(recommender, "backbone", None),
                                  FALLBACK_BACKBONE)}


def _warm_start_recommender(args: argparse.Namespace):
    """The recommender that ranks for the warm start (``None``: the run ranks with --meta, or not at all)."""
    from hyperstar.exceptions import HyperstarError, InvalidInputError

    if args.model:
        return load_recommender(args.model)
    if not (args.warm_start and not args.resume and not args.meta):
        return None
    try:
        return load_recommender(None)
    except HyperstarError as exc:
        raise InvalidInputError(
            f"A warm start needs a ranking: pass --model MODEL or --meta META, or use --no-warm-start ({exc})"
        ) from None


#: the flags of ``tune`` a resumed run takes from its ``run.json`` when they are left at these defaults
RESUMED_FLAGS = {"optimizer": "bohb", "min_budget": 1, "max_budget": 9, "eta": 3, "seed": 0, "weights": "auto",
                 "random_fraction": None, "bracket_order": "aggressive_first", "warm_start": True, "adaptive": False,
                 "n_iterations": None, "backbone": None, "resolution": None}


def resumed_settings(args: argparse.Namespace) -> None:
    """On ``--resume``, the run's own settings (its ``run.json``) for every flag left at its default, so that
    ``hyperstar tune DIR --resume --run-dir RUN`` continues the run as it was started."""
    from pathlib import Path

    from hyperstar.exceptions import InvalidInputError

    if not (args.resume and args.run_dir):
        return
    path = Path(args.run_dir) / "run.json"
    try:
        previous = json.loads(path.read_text())
    except FileNotFoundError:
        return  # tune says "nothing to resume"
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"Cannot read '{path}' to resume the run ({exc}); the run directory is damaged.") from None
    for flag, default in RESUMED_FLAGS.items():
        if getattr(args, flag) == default and flag in previous:
            setattr(args, flag, previous[flag])
    options = previous.get("generator_options") or {}
    if args.reserve_top == 0 and options.get("reserve_top"):
        args.reserve_top = int(options["reserve_top"])
    if args.revisit and options.get("revisit") is False:
        args.revisit = False


def cmd_tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hyperstar.hpo import tune

    quiet_hpbandster(args.debug)
    sigterm_as_interrupt()
    resumed_settings(args)
    if not Path(args.path).is_dir():
        from hyperstar.exceptions import DataError

        raise DataError(f"Dataset folder '{args.path}' does not exist: expected one sub-folder per class (ImageFolder layout).")
    recommender = _warm_start_recommender(args)
    meta = None
    if args.meta:
        from hyperstar.meta import load_meta_dataset

        meta = load_meta_dataset(Path(args.meta).resolve())  # resolved: the run's settings record this path
    result = tune(
        args.path,
        args.optimizer,
        recommender=recommender,
        meta=meta,
        warm_start=args.warm_start,
        min_budget=args.min_budget,
        max_budget=args.max_budget,
        eta=args.eta,
        n_iterations=args.n_iterations,
        n_workers=args.workers,
        run_dir=args.run_dir,
        resume=args.resume,
        seed=args.seed,
        weights=args.weights,
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
        **run_defaults(args, recommender, meta),
    )
    if args.json:
        print_json(result.to_dict())
    if result.incumbent is None:  # nothing to recommend: not a success, whatever ran
        sys.stderr.write(f"hyperstar: error: {result.no_result_reason}\n")
        return 1
    if args.json:
        return 0
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
    print(f"incumbent {tuple(result.incumbent_id)}: val_acc {result.val_acc:.3f}, test_acc {test} at "
          f"{result.budget:g} epochs ({result.n_jobs} jobs, {result.total_budget:g} epochs of budget)")
    print(json.dumps(result.incumbent, sort_keys=True))
    wise = result.wise_ft_summary()
    if wise:
        print(wise + " (export it: hyperstar finetune DIR --config '<incumbent>' --epochs MAX --export model.pt)")
    print(f"run directory: {result.run_dir} (trajectory.png, configs.json, results.json)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from hyperstar.exceptions import InvalidInputError
    from hyperstar.hpo import serve_worker
    from hyperstar.hpo.seam import SECRET_ENV, read_connection_file

    quiet_hpbandster(args.debug)
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
                     wait=args.wait, objective=args.objective)
    if args.verbose or args.debug:
        sys.stderr.write(f"hyperstar: worker done after {n} job(s)\n")
    return 0
