"""Performance predictors: score (task embedding, configuration vector, budget) triples.

``create_predictor(name, embed_dim, config_dim, **kw)``, ``list_predictors()``:

=============  ===================================================================================
``mlp``        an MLP on [task embedding, configuration encoding, budget encoding], plus a
               bilinear task x configuration term (so a task can re-weight configuration features)
``mlp_tiny``   the same, very small, for tests
=============  ===================================================================================

Scores are in per-task normalised units (z-scores of accuracy within a task and budget): they rank
configurations; they are not accuracies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hyperstar._internal.registry import Registry

__all__ = ["PerformancePredictor", "create_predictor", "list_predictors", "register_predictor", "budget_features"]

_REGISTRY: Registry[Callable[..., "PerformancePredictor"]] = Registry("predictor")
BUDGET_DIM = 3


def register_predictor(name: str, *, overwrite: bool = False):
    """Decorator adding a predictor factory ``f(embed_dim, config_dim, **kw) -> PerformancePredictor``."""
    return _REGISTRY.register(name, overwrite=overwrite)


def list_predictors() -> list[str]:
    """Names accepted by :func:`create_predictor`."""
    return _REGISTRY.names()


def create_predictor(name: str, embed_dim: int, config_dim: int, **kwargs: Any) -> "PerformancePredictor":
    """Build a registered predictor for task embeddings of ``embed_dim`` and configurations of ``config_dim``."""
    return _REGISTRY.create(name, embed_dim=embed_dim, config_dim=config_dim, **kwargs)


def budget_features(budget: torch.Tensor, max_budget: float) -> torch.Tensor:
    """[..., 3] encoding of a budget in epochs: log-fraction of the horizon and two smooth terms."""
    frac = torch.log1p(budget.float()) / math.log1p(float(max_budget))
    return torch.stack([frac, torch.sin(math.pi * frac / 2), frac**2], dim=-1)


class PerformancePredictor(nn.Module):
    """MLP plus bilinear scorer of (task embedding, configuration vector, budget features)."""

    def __init__(self, embed_dim: int, config_dim: int, hidden: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim, self.config_dim = embed_dim, config_dim
        self.config_proj = nn.Sequential(nn.Linear(config_dim + BUDGET_DIM, hidden), nn.GELU())
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim + hidden, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, 1),
        )
        self.bilinear = nn.Linear(embed_dim, hidden, bias=False)

    def forward(self, task_emb: torch.Tensor, configs: torch.Tensor, budget: torch.Tensor) -> torch.Tensor:
        """``task_emb`` [B, E], ``configs`` [M, Cd] or [B, M, Cd], ``budget`` [B, M, 3] -> scores [B, M]."""
        b = task_emb.shape[0]
        if configs.dim() == 2:
            configs = configs.unsqueeze(0).expand(b, -1, -1)
        m = configs.shape[1]
        c = self.config_proj(torch.cat([configs, budget], dim=-1))  # [B, M, H]
        t = task_emb.unsqueeze(1).expand(-1, m, -1)
        score = self.mlp(torch.cat([t, c], dim=-1)).squeeze(-1)
        inter = (self.bilinear(task_emb).unsqueeze(1) * c).sum(-1) / math.sqrt(c.shape[-1])
        return score + inter


register_predictor("mlp")(lambda embed_dim, config_dim, **kw: PerformancePredictor(embed_dim, config_dim, **kw))
register_predictor("mlp_tiny")(
    lambda embed_dim, config_dim, **kw: PerformancePredictor(embed_dim, config_dim, **{"hidden": 16, **kw})
)
