"""The HyperSTAR recommender: rank configurations for a new dataset from its raw images.

scikit-learn style: ``__init__`` stores keyword arguments, ``fit(meta) -> self`` learns, learned
state lives in trailing-underscore attributes.

Example::

    >>> from hyperstar import Recommender
    >>> from hyperstar.suite import make_task, tiny_suite
    >>> rec = Recommender.default()                  # the one shipped with hyperstar
    >>> task = make_task(tiny_suite()[0])            # your data: Task.from_folder("path/to/images")
    >>> recs = rec.recommend(task, k=5)
    >>> [r.rank for r in recs]
    [1, 2, 3, 4, 5]
    >>> isinstance(recs[0].config, dict) and "lr" in recs[0].config     # a plain, valid configuration
    True
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from hyperstar._internal.paths import meta_data_dir
from hyperstar._internal.convert import as_float
from hyperstar._internal.stats import spearman, spearman_matrix
from hyperstar._internal.validation import check_choice, check_float, check_int, check_seed
from hyperstar.exceptions import InvalidInputError, NotFittedError
from hyperstar.meta.dataset import MetaDataset
from hyperstar.ranking.model_file import MODEL_FILE, MODEL_FORMAT, load_model, save_model
from hyperstar.ranking.recommendations import Recommendation, Recommendations
from hyperstar.space import config_key, default_space, encode, sample_configurations, validate_configuration
from hyperstar.space.serialize import same_space

__all__ = ["Recommender", "Recommendation", "MODEL_FORMAT"]

logger = logging.getLogger(__name__)


def _rank_targets(acc: np.ndarray) -> np.ndarray:
    """Per-task, per-budget z-scores of accuracy over configurations ([T, C, E] -> same shape)."""
    mean = acc.mean(axis=1, keepdims=True)
    std = acc.std(axis=1, keepdims=True)
    return (acc - mean) / np.maximum(std, 1e-3)


class Recommender(BaseEstimator):
    """Learns from a meta-dataset to rank configurations for an unseen task.

    A scikit-learn estimator: ``get_params(deep)``, ``set_params``, ``sklearn.base.clone`` and
    ``sklearn.utils.validation.check_is_fitted`` work, and the repr shows the parameters that differ
    from the defaults. The constructor only stores its arguments; ``fit`` checks them (one-line errors).
    ``predict(task, configs)`` gives the predicted scores; ``score`` is its deprecated old name.

    Parameters (all keyword): ``encoder`` (registered encoder name, see :mod:`hyperstar.models.encoders`),
    ``predictor`` (see :mod:`hyperstar.models.predictors`), ``backbone`` / ``weights`` (the frozen feature
    extractor; ``"auto"``: the shipped source weights), ``batch_images`` (images per batch, one
    batch is one sample of a task), ``n_batches`` (batches averaged at recommendation time),
    ``steps``, ``lr``, ``weight_decay``, ``tasks_per_step``, ``rank_weight`` (ListNet ranking
    loss), ``regression_weight``, ``similarity_weight`` (tasks whose rankings agree get similar
    embeddings), ``use_descriptors``, ``holdout_fraction`` (tasks held out for early stopping),
    ``eval_every``, ``n_fresh_candidates`` (space samples added to the candidates),
    ``fallback`` (``"gated"``: fall back to the average-rank portfolio as the task's familiarity drops, see
    :mod:`hyperstar.ranking.fallback`; ``"none"``: the learned model alone), ``inner_folds`` / ``inner_steps``
    (the gate's inner cross-validation: folds of whole meta-training families, each refitting the model for
    ``inner_steps`` steps, default ``steps // 4``), ``max_images_per_task``, ``resolution``, ``seed``, ``device``,
    ``progress``.
    """

    def __init__(
        self,
        *,
        encoder: str = "stats",
        predictor: str = "mlp",
        backbone: str = "smallcnn",
        weights: Any = "auto",
        batch_images: int = 64,
        n_batches: int = 8,
        steps: int = 800,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        tasks_per_step: int = 8,
        rank_weight: float = 1.0,
        regression_weight: float = 0.5,
        similarity_weight: float = 0.2,
        final_budget_fraction: float = 0.5,
        use_descriptors: bool = True,
        holdout_fraction: float = 0.15,
        eval_every: int = 50,
        n_fresh_candidates: int = 200,
        fallback: str = "gated",
        inner_folds: int = 4,
        inner_steps: int | None = None,
        max_images_per_task: int = 600,
        resolution: int = 32,
        seed: int = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.encoder = encoder
        self.predictor = predictor
        self.backbone = backbone
        self.weights = weights
        self.batch_images = batch_images
        self.n_batches = n_batches
        self.steps = steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.tasks_per_step = tasks_per_step
        self.rank_weight = rank_weight
        self.regression_weight = regression_weight
        self.similarity_weight = similarity_weight
        self.final_budget_fraction = final_budget_fraction
        self.use_descriptors = use_descriptors
        self.holdout_fraction = holdout_fraction
        self.eval_every = eval_every
        self.n_fresh_candidates = n_fresh_candidates
        self.fallback = fallback
        self.inner_folds = inner_folds
        self.inner_steps = inner_steps
        self.max_images_per_task = max_images_per_task
        self.resolution = resolution
        self.seed = seed
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ parameters

    def _space(self):
        """The search space the recommender learned over (hyperstar's, or the meta-dataset's own)."""
        space = getattr(self, "space_", None)
        return space if space is not None else default_space()

    def _space_is_default(self) -> bool:
        return getattr(self, "space_", None) is None or same_space(self.space_, default_space())

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "encoder_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise NotFittedError("This Recommender is not fitted yet: call fit(meta) or load a saved one.")

    def _check_params(self) -> None:
        """The parameters, checked when fit starts (``__init__`` only stores them, as scikit-learn's estimators
        do): ``steps=0`` would save an untrained model."""
        from hyperstar.models.encoders import list_encoders
        from hyperstar.models.predictors import list_predictors

        where = "Recommender"
        check_choice(self.encoder, "encoder", where, list_encoders())
        check_choice(self.predictor, "predictor", where, list_predictors())
        check_choice(self.fallback, "fallback", where, ["gated", "none"])
        check_int(self.inner_folds, "inner_folds", where, 2)
        if self.inner_steps is not None:
            check_int(self.inner_steps, "inner_steps", where, 1)
        for name in ("use_descriptors", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"The '{name}' argument of {where} must be True or False. Got "
                                        f"{getattr(self, name)!r}.")
        for name in ("steps", "batch_images", "n_batches", "tasks_per_step", "eval_every", "max_images_per_task",
                     "resolution"):
            check_int(getattr(self, name), name, where, 1)
        check_int(self.n_fresh_candidates, "n_fresh_candidates", where, 0)
        check_seed(self.seed, where)
        check_float(self.lr, "lr", where, 0.0, low_open=True)
        for name in ("weight_decay", "rank_weight", "regression_weight", "similarity_weight"):
            check_float(getattr(self, name), name, where, 0.0)
        check_float(self.final_budget_fraction, "final_budget_fraction", where, 0.0, 1.0)
        check_float(self.holdout_fraction, "holdout_fraction", where, 0.0, 0.9)

    # ------------------------------------------------------------------ features

    def _feature_backbone(self):
        from hyperstar._internal.paths import resolve_weights
        from hyperstar.models.backbones import create_backbone

        net = create_backbone(self.backbone, num_classes=1, weights=resolve_weights(self.backbone, self.weights))
        return net.eval()

    def _extractor(self):
        from hyperstar.models.encoders import FeatureExtractor
        from hyperstar._internal.device import resolve_device

        if getattr(self, "_extractor_cache", None) is None:
            self._extractor_cache = FeatureExtractor(self.backbone_, resolve_device(self.device))
        return self._extractor_cache

    def _task_features(self, task, key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self._extractor().task_features(task, key=key, max_images=self.max_images_per_task, seed=self.seed)

    def _norm_descriptors(self, d: np.ndarray) -> np.ndarray:
        z = (np.asarray(d, dtype=float) - self.desc_mean_) / self.desc_std_
        return np.clip(np.nan_to_num(z, nan=0.0), -5, 5).astype(np.float32)

    # ------------------------------------------------------------------ fit

    def fit(self, meta: MetaDataset, features: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> "Recommender":
        """Train encoder and predictor jointly on ``meta``.

        ``features`` optionally maps task names to cached (features, labels), e.g. shared across
        the folds of a leave-one-task-out benchmark.
        """
        from hyperstar.models.encoders import create_encoder
        from hyperstar.models.predictors import budget_features, create_predictor

        self._check_params()
        if not isinstance(meta, MetaDataset):
            raise InvalidInputError(f"fit expects a MetaDataset (see load_meta_dataset). Got {type(meta).__name__}.")
        full = np.isfinite(meta.curves).all(axis=(1, 2))
        if full.sum() < 2:
            raise InvalidInputError(
                f"The meta-dataset has {int(full.sum())} complete task(s); fitting needs at least 2."
            )
        if not full.all():
            logger.warning("Fitting on the %d complete tasks of %d.", int(full.sum()), meta.n_tasks)
            meta = meta.subset(np.flatnonzero(full))
        rng = np.random.default_rng(self.seed)
        torch_gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self._fit(meta, features, rng, torch_gen, create_encoder, create_predictor, budget_features)
        return self

    def _fit(self, meta, features, rng, torch_gen, create_encoder, create_predictor, budget_features) -> None:
        images = self.encoder not in ("descriptors", "descriptors_tiny")
        if images and not meta.has_images:
            raise InvalidInputError(
                "This meta-dataset has tasks without images (imported); use Recommender(encoder='descriptors')."
            )
        self.desc_mean_ = np.nanmean(meta.descriptors, axis=0) if meta.descriptors.size else np.zeros(0)
        self.desc_std_ = (np.nanstd(meta.descriptors, axis=0) + 1e-6) if meta.descriptors.size else np.ones(0)
        self.descriptor_names_ = list(meta.descriptor_names)
        desc = torch.tensor(self._norm_descriptors(meta.descriptors)) if meta.descriptors.size else None
        use_desc = (self.use_descriptors or not images) and desc is not None and desc.shape[1] > 0

        self.backbone_ = self._feature_backbone() if images else None
        feats: list[torch.Tensor] = []
        labels: list[torch.Tensor] = []
        if images:
            from hyperstar.meta.task_cache import meta_task

            for t, name in enumerate(meta.task_names):
                if features is not None and name in features:
                    f, y = features[name]
                else:
                    f, y = self._task_features(meta_task(meta, t, self.resolution), key=name)
                feats.append(torch.as_tensor(f))
                labels.append(torch.as_tensor(y))
        feature_dim = feats[0].shape[1] if feats else 0
        self.encoder_ = create_encoder(self.encoder, feature_dim=feature_dim,
                                       descriptor_dim=desc.shape[1] if use_desc else 0)
        self.use_descriptors_ = bool(use_desc)
        self.space_ = getattr(meta, "space", None) or default_space()  # a meta-dataset over a user's own space
        config_x = torch.tensor(encode(meta.configs, self.space_))
        self.predictor_ = create_predictor(self.predictor, embed_dim=self.encoder_.embed_dim, config_dim=config_x.shape[1])
        self.max_budget_ = meta.max_budget
        targets = torch.tensor(_rank_targets(meta.curves), dtype=torch.float32)  # [T, C, E]
        sim = torch.tensor(spearman_matrix(meta.final_acc), dtype=torch.float32)
        n_classes = torch.tensor([int(y.max()) + 1 if len(y) else 1 for y in labels] or [1] * meta.n_tasks)

        T = meta.n_tasks
        n_hold = int(round(self.holdout_fraction * T)) if T >= 6 else 0
        perm = rng.permutation(T)
        hold, train = perm[:n_hold], perm[n_hold:]
        params = list(self.encoder_.parameters()) + list(self.predictor_.parameters())
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.steps))
        E = meta.max_budget
        budgets_all = torch.arange(1, E + 1)

        def batch_for(tasks: np.ndarray, gen_np) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            if not images:
                return torch.zeros(len(tasks), 1, 1), torch.zeros(len(tasks), 1, dtype=torch.long), n_classes[tasks]
            fb, yb = [], []
            for t in tasks:
                n = len(feats[t])
                idx = gen_np.choice(n, self.batch_images, replace=n < self.batch_images)
                fb.append(feats[t][idx])
                yb.append(labels[t][idx])
            return torch.stack(fb), torch.stack(yb), n_classes[tasks]

        def embed(tasks, gen_np):
            f, y, k = batch_for(tasks, gen_np)
            return self.encoder_(f, y, k, desc[tasks] if use_desc else None)

        best_state, best_score, bad = None, -math.inf, 0
        from tqdm.auto import tqdm

        bar = tqdm(range(self.steps), desc="fit", disable=not self.progress, leave=False)
        for step in bar:
            self.encoder_.train()
            self.predictor_.train()
            tasks = rng.choice(train, size=min(self.tasks_per_step, len(train)), replace=False)
            emb = embed(tasks, rng)  # [B, D]
            # Budget per task: the final budget half the time, otherwise a uniform epoch.
            e_idx = np.where(rng.random(len(tasks)) < self.final_budget_fraction, E - 1, rng.integers(0, E, len(tasks)))
            bfeat = budget_features(budgets_all[e_idx], E).unsqueeze(1).expand(-1, config_x.shape[0], -1)
            pred = self.predictor_(emb, config_x, bfeat)  # [B, C]
            z = targets[tasks, :, e_idx]  # [B, C]
            loss = self.regression_weight * torch.nn.functional.mse_loss(pred, z)
            # ListNet: the predicted distribution over configurations should match softmax(2 z),
            # which puts most weight on the top configurations.
            loss = loss + self.rank_weight * -(torch.softmax(2 * z, 1) * torch.log_softmax(pred, 1)).sum(1).mean()
            if self.similarity_weight > 0 and len(tasks) > 1:
                e = torch.nn.functional.normalize(emb, dim=1)
                cos = e @ e.T
                target = sim[tasks][:, tasks]
                mask = ~torch.eye(len(tasks), dtype=torch.bool)
                loss = loss + self.similarity_weight * torch.nn.functional.mse_loss(cos[mask], target[mask])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
            if len(hold) and ((step + 1) % self.eval_every == 0 or step == self.steps - 1):
                score = self._holdout_score(hold, embed, config_x, meta.final_acc, budget_features)
                if score > best_score:
                    best_score, bad = score, 0
                    best_state = (copy.deepcopy(self.encoder_.state_dict()), copy.deepcopy(self.predictor_.state_dict()))
                else:
                    bad += 1
                bar.set_postfix(holdout_spearman=f"{score:.3f}")
        bar.close()
        if best_state is not None:
            self.encoder_.load_state_dict(best_state[0])
            self.predictor_.load_state_dict(best_state[1])
        self.holdout_tasks_ = [meta.task_names[i] for i in hold]
        self.holdout_score_ = None if best_state is None else float(best_score)
        self.encoder_.eval()
        self.predictor_.eval()
        self.configs_ = [dict(c) for c in meta.configs]
        self.task_names_ = list(meta.task_names)
        with torch.no_grad():
            embs = []
            for t in range(T):
                g = np.random.default_rng(self.seed + 1000 + t)
                embs.append(torch.stack([embed(np.array([t]), g)[0] for _ in range(self.n_batches)]).mean(0))
            self.task_embeddings_ = torch.nn.functional.normalize(torch.stack(embs), dim=1).numpy()
        self.task_families_ = list(meta.families)
        ids = [c.get("id") for c in meta.manifest.get("configs", [])] if isinstance(meta.manifest, Mapping) else []
        self.config_ids_ = [str(i) for i in ids] if len(ids) == meta.n_configs and all(ids) else \
            [f"#{i}" for i in range(meta.n_configs)]
        self.has_fallback_ = False
        if self.fallback == "gated":
            self._fit_fallback(meta, [f.numpy() for f in feats], [y.numpy() for y in labels])

    # ------------------------------------------------------------------ fallback (familiarity, gate)

    def _fit_fallback(self, meta: MetaDataset, feats: list[np.ndarray], labels: list[np.ndarray]) -> None:
        """Portfolio, neighbour scores, familiarity calibration, and the gate chosen by inner cross-validation
        over whole families of the meta-training tasks (refitting the learned model on each inner fold)."""
        from hyperstar.ranking import fallback as fb

        self.portfolio_ = fb.portfolio_scores(meta.final_acc)
        self.task_z_ = fb.task_z(meta.final_acc)
        reps, blocks = self._representation(meta.descriptors, feats or None)
        self.familiarity_model_ = fb.FamiliarityModel().fit(reps, meta.families, blocks)
        self.familiarity_features_ = bool(feats)
        folds = fb.inner_folds(meta.families, self.inner_folds)
        cases = []
        if len(folds) >= 2:
            params = {**self.get_params(), "fallback": "none", "progress": False,
                      "steps": self.inner_steps or max(1, self.steps // 4)}
            cache = {meta.task_names[t]: (feats[t], labels[t]) for t in range(meta.n_tasks)} if feats else None
            for k, held in enumerate(folds):
                train = np.setdiff1d(np.arange(meta.n_tasks), held)
                inner_meta = meta.subset(train)
                inner = None
                if len(train) >= 2:
                    inner = Recommender(**{**params, "seed": self.seed + 101 + k}).fit(inner_meta, features=cache)
                fam = fb.FamiliarityModel().fit(reps[train], inner_meta.families, blocks)
                p = fb.portfolio_scores(inner_meta.final_acc)
                z = fb.task_z(inner_meta.final_acc)
                for t in held:
                    d = fam.distances(reps[t])
                    z_model = None
                    if inner is not None:
                        inputs = inner._inputs_from(feats[t] if feats else None, labels[t] if feats else None,
                                                    meta.descriptors[t])
                        z_model = fb.standardize(inner._network_scores(inputs, meta.configs, self.seed)[0])
                    cases.append({"p": p, "z_model": z_model, "z": z, "distances": d, "scale": fam.scale_,
                                  "familiarity": fam.familiarity(float(d.min())), "acc": meta.final_acc[t]})
            self.gate_, table = fb.choose_gate(cases)
        else:
            self.gate_, table = fb.Gate(), []
            logger.warning("One family in the meta-data: the fallback keeps its default gate %s (no inner "
                           "cross-validation across families possible).", self.gate_)
        best = min(table, key=lambda r: r["objective"]) if table else None
        self.gate_cv_ = {"n_folds": len(folds), "n_cases": len(cases), "searched": dict(fb.GATE_GRID),
                         "chosen": {"gamma": self.gate_.gamma, "beta": self.gate_.beta, "tau": self.gate_.tau},
                         "chosen_objective": best["objective"] if best else None,
                         "portfolio_objective": next((r["objective"] for r in table if r["gamma"] == 0.0), None)}
        self.has_fallback_ = True

    def _representation(self, descriptors, feats) -> tuple[np.ndarray, list[int]]:
        from hyperstar.ranking.fallback import task_representation

        d = np.atleast_2d(np.asarray(descriptors, dtype=float)) if np.asarray(descriptors).size else None
        reps = task_representation(d, feats)
        blocks = ([d.shape[1]] if d is not None else []) + ([reps.shape[1] - (d.shape[1] if d is not None else 0)]
                                                            if feats else [])
        return reps, blocks

    def familiarity(self, task, seed: int | None = None) -> dict[str, Any]:
        """How familiar ``task`` is to the meta-data, and the known tasks that drive its ranking:
        ``{"familiarity", "trust", "model_share", "unfamiliar", "driving_tasks"}`` (see :class:`Recommendations`)."""
        self._check_fitted()
        recs = Recommendations()
        inputs = self._task_inputs(task)
        self._explain(recs, inputs, self._fallback_state(inputs))
        return recs.summary()

    @torch.no_grad()
    def _holdout_score(self, hold, embed, config_x, final_acc, budget_features) -> float:
        self.encoder_.eval()
        self.predictor_.eval()
        g = np.random.default_rng(self.seed + 7)
        scores = []
        for t in hold:
            emb = torch.stack([embed(np.array([t]), g)[0] for _ in range(2)])
            b = budget_features(torch.full((2, config_x.shape[0]), self.max_budget_), self.max_budget_)
            pred = self.predictor_(emb, config_x, b).mean(0).numpy()
            scores.append(spearman(pred, final_acc[t], min_pairs=2))
        return float(np.nanmean(scores))

    # ------------------------------------------------------------------ recommend

    def _task_inputs(self, task) -> dict[str, Any]:
        """What the recommender reads of ``task`` (a Task or a dict of descriptors): backbone features and labels
        (images), descriptors; computed once per call."""
        from hyperstar.data import Task

        raw = None
        if isinstance(task, Task):
            d = task.describe()
            raw = np.array([as_float(d.get(n)) for n in self.descriptor_names_])
        elif isinstance(task, Mapping):
            raw = np.array([as_float(task.get(n)) for n in self.descriptor_names_])
        if not self.encoder_.uses_images:
            if raw is None:
                raise InvalidInputError("This recommender ranks from task descriptors: pass a Task or a dict of descriptors.")
            logger.info("Ranking from task descriptors alone (the recommender was fitted without images).")
            return self._inputs_from(None, None, raw)
        if not isinstance(task, Task):
            raise InvalidInputError(
                f"This recommender embeds images: pass a hyperstar Task (e.g. Task.from_folder). Got {type(task).__name__}."
            )
        feats, labels = self._task_features(task, key=f"__query__{id(task)}")
        self._extractor()._cache.pop(f"__query__{id(task)}", None)
        return self._inputs_from(feats, labels, raw, n_classes=task.n_classes)

    def _inputs_from(self, feats, labels, descriptors, n_classes: int | None = None) -> dict[str, Any]:
        if n_classes is None and labels is not None:
            n_classes = int(np.max(labels)) + 1 if len(labels) else 1
        return {"feats": feats, "labels": labels, "descriptors": None if descriptors is None else np.asarray(descriptors, float),
                "n_classes": n_classes or 1}

    @torch.no_grad()
    def _embed(self, inputs: dict[str, Any], seed: int) -> torch.Tensor:
        """[n_batches, D] embeddings of batches sampled from the task's features."""
        desc = None
        if self.use_descriptors_ and inputs["descriptors"] is not None:
            desc = torch.tensor(self._norm_descriptors(inputs["descriptors"][None]))
        if not self.encoder_.uses_images:
            emb = self.encoder_(torch.zeros(1, 1, 1), torch.zeros(1, 1, dtype=torch.long), torch.ones(1), desc)
            return emb.expand(self.n_batches, -1)
        f = torch.as_tensor(inputs["feats"])
        y = torch.as_tensor(inputs["labels"])
        k = torch.tensor([inputs["n_classes"]])
        g = np.random.default_rng(seed)
        out = []
        for _ in range(self.n_batches):
            idx = g.choice(len(f), self.batch_images, replace=len(f) < self.batch_images)
            out.append(self.encoder_(f[idx][None], y[idx][None], k, desc)[0])
        return torch.stack(out)

    def _task_embeddings(self, task, seed: int) -> torch.Tensor:
        """[n_batches, D] embeddings of batches sampled from ``task`` (a Task or descriptors)."""
        return self._embed(self._task_inputs(task), seed)

    @torch.no_grad()
    def _network_scores(self, inputs, configs, seed: int, budget: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The learned predictor alone: (mean, std) over image batches per configuration."""
        from hyperstar.models.predictors import budget_features

        budget = self.max_budget_ if budget is None else budget
        emb = self._embed(inputs, seed)
        x = torch.tensor(encode(list(configs), self._space()))
        b = budget_features(torch.full((emb.shape[0], x.shape[0]), int(budget)), self.max_budget_)
        pred = self.predictor_(emb, x, b).numpy()  # [n_batches, M]
        return pred.mean(0), pred.std(0)

    def _fallback_state(self, inputs) -> dict[str, Any] | None:
        """Familiarity, trust and neighbour weights for one task (None without the fallback)."""
        from hyperstar.ranking import fallback as fb

        if not getattr(self, "has_fallback_", False):
            return None
        feats = [inputs["feats"]] if self.familiarity_features_ else None
        descriptors = inputs["descriptors"] if inputs["descriptors"] is not None else np.full(len(self.descriptor_names_),
                                                                                             np.nan)
        rep, _ = self._representation(descriptors[None] if len(self.descriptor_names_) else np.zeros((1, 0)), feats)
        fam = self.familiarity_model_
        d = fam.distances(rep[0])
        familiarity = fam.familiarity(float(d.min()))
        weights = fb.neighbour_weights(d, fam.scale_, self.gate_.tau)
        return {"familiarity": familiarity, "trust": self.gate_.weight(familiarity), "weights": weights,
                "distances": d}

    def _explain(self, recs: "Recommendations", inputs, state) -> None:
        if state is None:
            return
        recs.familiarity = float(state["familiarity"])
        recs.trust = float(state["trust"])
        recs.model_share = float(self.gate_.beta)
        order = np.argsort(-state["weights"], kind="stable")[:3]
        recs.driving_tasks = [(self.task_names_[i], self.task_families_[i], float(state["weights"][i])) for i in order]

    def _combined(self, inputs, configs, seed: int, budget: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
        """(score, std, measured index or -1, fallback state) of ``configs``: the gated combination where the
        recommender has its fallback, the learned model's scores otherwise."""
        from hyperstar.ranking import fallback as fb

        index = {config_key(c): i for i, c in enumerate(self.configs_)}
        measured = np.array([index.get(config_key(c), -1) for c in configs])
        state = self._fallback_state(inputs)
        if state is None:
            mean, std = self._network_scores(inputs, configs, seed, budget)
            return mean, std, measured, None
        C = len(self.configs_)
        mean, std = self._network_scores(inputs, [*self.configs_, *configs], seed, budget)
        mu, sd = mean[:C].mean(), mean[:C].std()
        z_model = (mean - mu) / (sd if sd > 1e-12 else 1.0)
        z_nb = fb.neighbour_scores(self.task_z_, state["weights"])
        on_configs = fb.combine(self.portfolio_, z_model[:C], z_nb, state["trust"], self.gate_.beta)
        score = np.empty(len(configs))
        fresh = measured < 0
        score[~fresh] = on_configs[measured[~fresh]]
        if fresh.any():
            # an extrapolated configuration: its nearest measured one's portfolio score, moved toward the model's
            # own score only as far as the model is trusted
            conf = state["trust"] * self.gate_.beta
            x_known = encode(self.configs_, self._space())
            x_new = encode([c for c, f in zip(configs, fresh) if f], self._space())
            nn = np.argmin(((x_new[:, None, :] - x_known[None]) ** 2).sum(-1), axis=1)
            score[fresh] = (1 - conf) * self.portfolio_[nn] + conf * z_model[C:][fresh]
        return score, std[C:], measured, state

    def score(self, task, configs: Sequence[Mapping[str, Any]], budget: int | None = None,
              seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Deprecated: ``predict(task, configs, return_std=True)`` (``score`` means a metric in scikit-learn)."""
        warnings.warn("Recommender.score is deprecated; use predict(task, configs, return_std=True).",
                      DeprecationWarning, stacklevel=2)
        return self.predict(task, configs, budget=budget, seed=seed, return_std=True)

    def _budget(self, budget) -> int:
        budget = self.max_budget_ if budget is None else check_int(budget, "budget", "recommend", 1)
        if budget > self.max_budget_:
            warnings.warn(f"The budget {budget} is past the {self.max_budget_} epochs of the meta-data this recommender "
                          f"learned from; ranking for {self.max_budget_} epochs instead.", UserWarning, stacklevel=4)
            budget = self.max_budget_
        return budget

    @torch.no_grad()
    def predict(self, task, configs: Sequence[Mapping[str, Any]], budget: int | None = None,
                seed: int | None = None, return_std: bool = False, learned_only: bool = False):
        """Predicted score per configuration (higher is better); with ``return_std``, ``(mean, std)`` (std: the
        learned model's spread over image batches).

        With the fallback (``fallback="gated"``, the default) the score is the portfolio's, moved toward the
        learned model and the nearest known tasks as far as the task's familiarity allows (see
        :mod:`hyperstar.ranking.fallback`); ``learned_only=True`` gives the learned model's own scores.
        ``budget`` (epochs, default: the meta-data's largest): a budget past the largest the meta-data holds is
        ranked as that largest one, with a one-line warning (the predictor has never seen longer runs).
        """
        self._check_fitted()
        budget = self._budget(budget)
        seed = self.seed if seed is None else seed
        inputs = self._task_inputs(task)
        if learned_only:
            mean, std = self._network_scores(inputs, configs, seed, budget)
        else:
            mean, std, _, _ = self._combined(inputs, list(configs), seed, budget)
        return (mean, std) if return_std else mean

    def candidates(self, n_fresh: int | None = None, seed: int | None = None) -> list[dict[str, Any]]:
        """Default candidates: the meta-dataset's configurations plus fresh samples from the space."""
        self._check_fitted()
        n_fresh = self.n_fresh_candidates if n_fresh is None else n_fresh
        out = [dict(c) for c in self.configs_]
        seen = {config_key(c) for c in out}
        if n_fresh > 0:
            for c in sample_configurations(self._space(), n=n_fresh, seed=10_000 + (self.seed if seed is None else seed)):
                if config_key(c) not in seen:
                    out.append(c)
                    seen.add(config_key(c))
        return out

    def rank(self, task, candidates: Sequence[Mapping[str, Any]] | None = None, k: int = 10) -> list[dict[str, Any]]:
        """The :class:`~hyperstar.ranking.protocol.Ranker` interface: the configurations of :meth:`recommend`,
        best first, as plain dicts."""
        return [dict(r.config) for r in self.recommend(task, k=k, candidates=candidates)]

    def recommend(self, task, k: int = 10, candidates: Sequence[Mapping[str, Any]] | None = None,
                  budget: int | None = None, seed: int | None = None) -> Recommendations:
        """The ``k`` best-scored candidate configurations for ``task``, best first (a :class:`Recommendations`
        list: it also says how familiar the task is and which known tasks drive the ranking).

        Each is marked ``measured`` (one of the meta-data's configurations, with its ``config_id``) or not
        (extrapolated). With the fallback, at most ``floor(trust * model_share * k)`` extrapolated configurations
        enter the top ``k`` (none for a task unlike the meta-data), the rest follow the measured ones.
        """
        self._check_fitted()
        if candidates is None:
            candidates = self.candidates(seed=seed)
        else:
            candidates = [validate_configuration(c, self._space()) for c in candidates]
        if not candidates:
            raise InvalidInputError("The 'candidates' argument of recommend is empty; pass at least one configuration.")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= max(500, len(candidates)):
            raise InvalidInputError(f"The 'k' argument of recommend must be an int in [1, {max(500, len(candidates))}]. Got {k!r}.")
        budget = self._budget(budget)
        inputs = self._task_inputs(task)
        mean, std, measured, state = self._combined(inputs, list(candidates), self.seed if seed is None else seed,
                                                    budget)
        order = np.argsort(-mean, kind="stable")
        if state is not None:
            quota = int(math.floor(state["trust"] * self.gate_.beta * int(k) + 1e-9))
            top, later, n_fresh = [], [], 0
            for j in order:
                if measured[j] < 0 and n_fresh >= quota:
                    later.append(j)
                else:
                    n_fresh += measured[j] < 0
                    top.append(j)
                if len(top) >= int(k):
                    break
            order = np.array((top + later)[: int(k)], dtype=int)
        order = order[: int(k)]
        out = Recommendations(
            Recommendation(rank=i + 1, config=dict(candidates[j]), score=float(mean[j]), std=float(std[j]),
                           measured=bool(measured[j] >= 0),
                           config_id=self.config_ids_[measured[j]] if measured[j] >= 0 else None)
            for i, j in enumerate(order))
        self._explain(out, inputs, state)
        return out

    @torch.no_grad()
    def similar_tasks(self, task, k: int = 5, seed: int | None = None) -> list[tuple[str, float]]:
        """The meta-training tasks whose embeddings are closest (cosine) to ``task``'s."""
        self._check_fitted()
        emb = torch.nn.functional.normalize(self._task_embeddings(task, self.seed if seed is None else seed).mean(0), dim=0)
        sims = self.task_embeddings_ @ emb.numpy()
        order = np.argsort(-sims)[: int(k)]
        return [(self.task_names_[i], float(sims[i])) for i in order]

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Save to a folder: ``model.json`` (parameters, metadata, the weights' SHA-256) and ``weights.pt``
        (tensors only). Both files are written in full before either replaces an existing one: a full disk
        (:class:`~hyperstar.exceptions.DiskFullError`) or an error leaves a previously saved recommender intact."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """Load a folder written by :meth:`save` (weights-only tensors plus JSON; nothing executed).

        A damaged folder gives one line: :class:`~hyperstar.exceptions.ModelFileError` ("'PATH' is not a
        hyperstar model file (...)", "'PATH' is truncated or damaged (...)") or
        :class:`~hyperstar.exceptions.IncompatibleVersionError` ("... was saved by hyperstar X; this is Y").
        """
        return load_model(cls, path)

    @classmethod
    def default(cls) -> "Recommender":
        """The recommender shipped in ``meta_data/recommender``."""
        path = meta_data_dir() / "recommender"
        if not (path / MODEL_FILE).is_file():
            raise InvalidInputError(
                f"No shipped recommender at '{path}'. Fit one with `hyperstar fit --out {path}`."
            )
        return cls.load(path)
