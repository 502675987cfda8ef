"""Saving and loading a fitted :class:`~hyperstar.ranking.recommender.Recommender`: a folder of ``model.json``
(parameters, metadata, the weights' SHA-256) and ``weights.pt`` (named tensors, loaded with ``weights_only``)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hyperstar._version import __version__
from hyperstar._internal.convert import json_safe
from hyperstar._internal.io import atomic_write_group, load_torch_file
from hyperstar.exceptions import IncompatibleVersionError, InvalidInputError, ModelFileError
from hyperstar.space import SPACE_VERSION, default_space, encode
from hyperstar.space.serialize import space_from_json, space_to_json

__all__ = ["MODEL_FORMAT", "MODEL_FILE", "WEIGHTS_FILE", "load_model", "save_model"]

MODEL_FORMAT = 1
WEIGHTS_FILE = "weights.pt"
MODEL_FILE = "model.json"


def save_model(self, path: str | Path) -> Path:
    """Save to a folder: ``model.json`` (parameters, metadata, the weights' SHA-256) and ``weights.pt``
    (tensors only). Both files are written in full before either replaces an existing one: a full disk
    (:class:`~hyperstar.exceptions.DiskFullError`) or an error leaves a previously saved recommender intact."""
    self._check_fitted()
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"encoder.{k}": v for k, v in self.encoder_.state_dict().items()}
    tensors.update({f"predictor.{k}": v for k, v in self.predictor_.state_dict().items()})
    if self.backbone_ is not None:
        tensors.update({f"backbone.{k}": v for k, v in self.backbone_.body.state_dict().items()})
    tensors["task_embeddings"] = torch.tensor(self.task_embeddings_)
    tensors["desc_mean"] = torch.tensor(self.desc_mean_)
    tensors["desc_std"] = torch.tensor(self.desc_std_)
    fallback = None
    if getattr(self, "has_fallback_", False):
        fam = self.familiarity_model_
        for name, value in (("portfolio", self.portfolio_), ("task_z", self.task_z_), ("familiarity.mean", fam.mean_),
                            ("familiarity.std", fam.std_), ("familiarity.points", fam.points_),
                            ("familiarity.cross", fam.cross_)):
            tensors[f"fallback.{name}"] = torch.tensor(np.asarray(value, dtype=np.float64))
        fallback = {"gate": {"gamma": self.gate_.gamma, "beta": self.gate_.beta, "tau": self.gate_.tau},
                    "gate_cv": self.gate_cv_, "familiarity_features": self.familiarity_features_,
                    "block_sizes": fam.block_sizes_, "scale": fam.scale_}
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    weights = buffer.getvalue()
    params = self.get_params()
    params["weights"] = params["weights"] if isinstance(params["weights"], (str, type(None))) else str(params["weights"])
    info = {
        "model_format": MODEL_FORMAT,
        "hyperstar_version": __version__,
        "params": params,
        "feature_dim": getattr(self.backbone_, "feature_dim", 0) if self.backbone_ is not None else 0,
        "descriptor_names": self.descriptor_names_,
        "use_descriptors": self.use_descriptors_,
        "max_budget": self.max_budget_,
        "configs": self.configs_,
        "space": None if self._space_is_default() else json.loads(space_to_json(self._space())),
        "space_version": SPACE_VERSION,  # what "space": null means (absent in models saved before: version 1)
        "task_names": self.task_names_,
        "task_families": self.task_families_,
        "holdout_tasks": self.holdout_tasks_,
        "holdout_score": self.holdout_score_,
        "config_ids": self.config_ids_,
        "fallback": fallback,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    text = (json.dumps(json_safe(info), indent=1, allow_nan=False) + "\n").encode()
    atomic_write_group({folder / WEIGHTS_FILE: lambda fh: fh.write(weights), folder / MODEL_FILE: lambda fh: fh.write(text)},
                       sizes={folder / WEIGHTS_FILE: len(weights), folder / MODEL_FILE: len(text)})
    return folder


def load_model(cls, path: str | Path):
    """Load a folder written by :meth:`save` (weights-only tensors plus JSON; nothing executed).

    A damaged folder gives one line: :class:`~hyperstar.exceptions.ModelFileError` ("'PATH' is not a
    hyperstar model file (...)", "'PATH' is truncated or damaged (...)") or
    :class:`~hyperstar.exceptions.IncompatibleVersionError` ("... was saved by hyperstar X; this is Y").
    """
    folder = Path(path)
    if not (folder / MODEL_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise InvalidInputError(f"No saved recommender at '{folder}': expected {MODEL_FILE} and {WEIGHTS_FILE}.")
    todo = f"Refit it with `hyperstar fit --out {folder}`, or restore a saved copy."
    info = _read_model_json(folder / MODEL_FILE, todo)
    if info.get("model_format") != MODEL_FORMAT or _minor(info.get("hyperstar_version")) != _minor(__version__):
        raise IncompatibleVersionError(
            f"The recommender at '{folder}' was saved by hyperstar {info.get('hyperstar_version')} "
            f"(model format {info.get('model_format')}); this is hyperstar {__version__} (format {MODEL_FORMAT}). "
            "Refit it with `hyperstar fit`."
        )
    missing = [k for k in _MODEL_KEYS if k not in info]
    if missing or not isinstance(info["params"], dict) or not info["configs"]:
        what = f"missing {', '.join(map(repr, missing))}" if missing else "no parameters or configurations"
        raise ModelFileError(f"'{folder / MODEL_FILE}' is not a hyperstar model file ({what}). {todo}")
    weights_path = folder / WEIGHTS_FILE
    tensors = load_torch_file(weights_path, what="a hyperstar model file", todo=todo)
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise ModelFileError(f"'{weights_path}' is not a hyperstar model file (it does not hold named tensors). {todo}")
    missing = [k for k in ("desc_mean", "desc_std", "task_embeddings") if k not in tensors]
    if missing:
        raise ModelFileError(f"'{weights_path}' is not a hyperstar model file (missing {', '.join(map(repr, missing))}). "
                             f"{todo}")
    digest = info.get("weights_sha256")  # torch reads flipped bytes inside a tensor without a word
    if digest is not None and hashlib.sha256(weights_path.read_bytes()).hexdigest() != digest:
        raise ModelFileError(f"'{weights_path}' is truncated or damaged (its SHA-256 is not the one {MODEL_FILE} "
                             f"records). {todo}")
    try:
        return _from_saved(cls, info, tensors)
    except InvalidInputError as exc:
        raise ModelFileError(f"'{folder}' holds a recommender this hyperstar cannot rebuild ({exc}). {todo}") from None
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ModelFileError(f"'{weights_path}' is not a hyperstar model file for the parameters in {MODEL_FILE} "
                             f"({type(exc).__name__}: {first}). {todo}") from None


def _from_saved(cls, info: dict[str, Any], tensors: dict[str, torch.Tensor]):
    from hyperstar.models.backbones import create_backbone
    from hyperstar.models.encoders import create_encoder
    from hyperstar.models.predictors import create_predictor

    rec = cls(**info["params"])
    rec.descriptor_names_ = info["descriptor_names"]
    rec.use_descriptors_ = info["use_descriptors"]
    rec.max_budget_ = info["max_budget"]
    rec.configs_ = info["configs"]
    rec.space_ = (space_from_json(json.dumps(info["space"])) if info.get("space")
                  else default_space(version=int(info.get("space_version") or 1)))
    rec.task_names_ = info["task_names"]
    rec.task_families_ = info["task_families"]
    rec.holdout_tasks_ = info["holdout_tasks"]
    rec.holdout_score_ = info["holdout_score"]
    rec.desc_mean_ = tensors["desc_mean"].numpy()
    rec.desc_std_ = tensors["desc_std"].numpy()
    rec.task_embeddings_ = tensors["task_embeddings"].numpy()
    rec.config_ids_ = info.get("config_ids") or [f"#{i}" for i in range(len(rec.configs_))]
    rec.has_fallback_ = False
    fallback = info.get("fallback")
    if fallback:  # models saved before the fallback have none: the learned model alone, as they ranked
        from hyperstar.ranking.fallback import FamiliarityModel, Gate

        rec.gate_ = Gate(**fallback["gate"])
        rec.gate_cv_ = fallback["gate_cv"]
        rec.familiarity_features_ = bool(fallback["familiarity_features"])
        rec.portfolio_ = tensors["fallback.portfolio"].numpy()
        rec.task_z_ = tensors["fallback.task_z"].numpy()
        fam = FamiliarityModel()
        fam.mean_, fam.std_ = tensors["fallback.familiarity.mean"].numpy(), tensors["fallback.familiarity.std"].numpy()
        fam.points_, fam.cross_ = tensors["fallback.familiarity.points"].numpy(), tensors["fallback.familiarity.cross"].numpy()
        fam.block_sizes_, fam.scale_ = [int(b) for b in fallback["block_sizes"]], float(fallback["scale"])
        rec.familiarity_model_ = fam
        rec.has_fallback_ = True
    backbone_state = {k[len("backbone."):]: v for k, v in tensors.items() if k.startswith("backbone.")}
    rec.backbone_ = None
    if backbone_state:
        rec.backbone_ = create_backbone(rec.backbone, num_classes=1)
        rec.backbone_.body.load_state_dict(backbone_state)
        rec.backbone_.eval()
    rec.encoder_ = create_encoder(rec.encoder, feature_dim=info["feature_dim"],
                                  descriptor_dim=len(rec.descriptor_names_) if rec.use_descriptors_ else 0)
    rec.encoder_.load_state_dict({k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")})
    rec.predictor_ = create_predictor(rec.predictor, embed_dim=rec.encoder_.embed_dim,
                                      config_dim=len(encode(rec.configs_[0], rec.space_)[0]))
    rec.predictor_.load_state_dict({k[len("predictor."):]: v for k, v in tensors.items() if k.startswith("predictor.")})
    rec.encoder_.eval()
    rec.predictor_.eval()
    return rec

def _minor(version: Any) -> str:
    return ".".join(str(version).split(".")[:2])


#: what model.json must hold (besides its format and version)
_MODEL_KEYS = ("params", "feature_dim", "descriptor_names", "use_descriptors", "max_budget", "configs", "task_names",
               "task_families", "holdout_tasks", "holdout_score")


def _read_model_json(path: Path, todo: str) -> dict[str, Any]:
    raw = path.read_bytes()
    if not raw.strip():
        raise ModelFileError(f"'{path}' is not a hyperstar model file (it is empty). {todo}")
    try:
        info = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"'{path}' is not a hyperstar model file (it is not UTF-8 JSON text). {todo}") from None
    except json.JSONDecodeError as exc:
        kind = "is truncated or damaged" if raw.lstrip().startswith(b"{") else "is not a hyperstar model file"
        raise ModelFileError(f"'{path}' {kind} (not valid JSON: {exc.msg} at line {exc.lineno}). {todo}") from None
    except RecursionError:
        raise ModelFileError(f"'{path}' is not a hyperstar model file (JSON nested too deeply). {todo}") from None
    if not isinstance(info, dict):
        raise ModelFileError(f"'{path}' is not a hyperstar model file (it holds a JSON {type(info).__name__}, not an "
                             f"object). {todo}")
    return info

