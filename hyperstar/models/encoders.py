"""Dataset encoders: a batch of images from a task -> a task embedding.

Pipeline: frozen backbone features per image -> permutation-invariant pooling over the batch ->
MLP -> embedding. With a frozen backbone the per-image features are computed once per task and
cached (:class:`FeatureExtractor`), so meta-training runs on cached features and is fast on CPU.

Registered encoders (``create_encoder(name, feature_dim=..., **kw)``, ``list_encoders()``):

=================  ===========================================================================
``stats``          mean and standard deviation of the features over the batch, plus
                   class-conditional statistics (spread of the class means, mean within-class
                   spread, their ratio) and log(number of classes) from the labels -> MLP.
``attention``      set-transformer style pooling: per-image tokens (features + a learned label
                   code) go through self-attention, then attention pooling with learned seed
                   vectors -> MLP. Uses the labels only through the tokens.
``descriptors``    no images: an MLP on the task's cheap descriptors (meta-features), for
                   imported meta-data that comes without images.
``*_tiny``         the same with very small widths, for tests.
=================  ===========================================================================

Every image encoder can also take the task descriptors, concatenated before the MLP
(``use_descriptors=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from hyperstar._internal.registry import Registry
from hyperstar.exceptions import InvalidInputError

__all__ = [
    "TaskEncoder",
    "StatsEncoder",
    "AttentionEncoder",
    "DescriptorEncoder",
    "FeatureExtractor",
    "create_encoder",
    "list_encoders",
    "register_encoder",
]

_REGISTRY: Registry[Callable[..., "TaskEncoder"]] = Registry("encoder")


def register_encoder(name: str, *, overwrite: bool = False):
    """Decorator adding an encoder factory ``f(feature_dim, descriptor_dim, **kw) -> TaskEncoder``."""
    return _REGISTRY.register(name, overwrite=overwrite)


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder`."""
    return _REGISTRY.names()


def create_encoder(name: str, feature_dim: int, descriptor_dim: int = 0, **kwargs: Any) -> "TaskEncoder":
    """Build a registered encoder for backbone features of size ``feature_dim``."""
    return _REGISTRY.create(name, feature_dim=feature_dim, descriptor_dim=descriptor_dim, **kwargs)


def _mlp(sizes: list[int], dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class TaskEncoder(nn.Module):
    """Base class: ``forward(features [B, n, D], labels [B, n], n_classes [B], descriptors [B, K])``."""

    uses_images = True
    embed_dim: int

    def forward(self, features: torch.Tensor, labels: torch.Tensor, n_classes: torch.Tensor,
                descriptors: torch.Tensor | None = None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def class_statistics(features: torch.Tensor, labels: torch.Tensor, n_classes: torch.Tensor) -> torch.Tensor:
    """Per batch: [spread of class means, mean within-class std, their log-ratio, log n_classes].

    Computed per feature dimension and averaged, so it is invariant to the order of images.
    """
    b, n, d = features.shape
    k_max = int(labels.max().item()) + 1 if labels.numel() else 1
    onehot = torch.nn.functional.one_hot(labels.long(), num_classes=k_max).float()  # [B, n, K]
    counts = onehot.sum(1)  # [B, K]
    present = (counts > 0).float()
    means = torch.einsum("bnk,bnd->bkd", onehot, features) / counts.clamp(min=1).unsqueeze(-1)
    sq = torch.einsum("bnk,bnd->bkd", onehot, features**2) / counts.clamp(min=1).unsqueeze(-1)
    within = (sq - means**2).clamp(min=0).sqrt()  # [B, K, D]
    n_present = present.sum(1).clamp(min=1)  # [B]
    within_mean = (within * present.unsqueeze(-1)).sum(1) / n_present.unsqueeze(-1)  # [B, D]
    grand = (means * present.unsqueeze(-1)).sum(1) / n_present.unsqueeze(-1)
    between = (((means - grand.unsqueeze(1)) ** 2) * present.unsqueeze(-1)).sum(1) / n_present.unsqueeze(-1)
    between = between.sqrt()
    ratio = torch.log((between + 1e-4) / (within_mean + 1e-4))
    return torch.stack(
        [between.mean(1), within_mean.mean(1), ratio.mean(1), torch.log(n_classes.float().clamp(min=1))], dim=1
    )


class StatsEncoder(TaskEncoder):
    """Mean/std pooling plus class-conditional statistics, then an MLP."""

    def __init__(self, feature_dim: int, descriptor_dim: int = 0, hidden: int = 128, embed_dim: int = 32,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.descriptor_dim = descriptor_dim
        self.proj = nn.Linear(feature_dim, hidden)
        self.mlp = _mlp([2 * hidden + 4 + descriptor_dim, hidden, embed_dim], dropout)

    def forward(self, features, labels, n_classes, descriptors=None):
        h = torch.nn.functional.gelu(self.proj(features))  # [B, n, H]
        pooled = [h.mean(1), h.std(1, unbiased=False), class_statistics(features, labels, n_classes)]
        if self.descriptor_dim:
            pooled.append(descriptors)
        return self.mlp(torch.cat(pooled, dim=1))


class AttentionEncoder(TaskEncoder):
    """Set-transformer style: self-attention over image tokens, then pooling by multihead attention."""

    def __init__(self, feature_dim: int, descriptor_dim: int = 0, hidden: int = 64, embed_dim: int = 32,
                 heads: int = 4, seeds: int = 2, max_classes: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.descriptor_dim = descriptor_dim
        self.max_classes = max_classes
        self.proj = nn.Linear(feature_dim, hidden)
        self.label_code = nn.Embedding(max_classes, hidden)
        self.self_attn = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=dropout,
                                                    batch_first=True)
        self.seeds = nn.Parameter(torch.randn(1, seeds, hidden) * 0.1)
        self.pool = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.mlp = _mlp([seeds * hidden + 4 + descriptor_dim, hidden, embed_dim], dropout)

    def forward(self, features, labels, n_classes, descriptors=None):
        # Labels are arbitrary class ids; a task's classes are coded by their index modulo the table.
        tokens = self.proj(features) + self.label_code(labels.long() % self.max_classes)
        tokens = self.self_attn(tokens)
        seeds = self.seeds.expand(tokens.shape[0], -1, -1)
        pooled, _ = self.pool(seeds, tokens, tokens)
        parts = [pooled.flatten(1), class_statistics(features, labels, n_classes)]
        if self.descriptor_dim:
            parts.append(descriptors)
        return self.mlp(torch.cat(parts, dim=1))


class DescriptorEncoder(TaskEncoder):
    """No images: an MLP on the task descriptors alone."""

    uses_images = False

    def __init__(self, feature_dim: int = 0, descriptor_dim: int = 1, hidden: int = 64, embed_dim: int = 32,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if descriptor_dim < 1:
            raise InvalidInputError("The 'descriptors' encoder needs task descriptors (descriptor_dim >= 1).")
        self.embed_dim = embed_dim
        self.descriptor_dim = descriptor_dim
        self.mlp = _mlp([descriptor_dim, hidden, embed_dim], dropout)

    def forward(self, features, labels, n_classes, descriptors=None):
        return self.mlp(descriptors)


register_encoder("stats")(lambda feature_dim, descriptor_dim=0, **kw: StatsEncoder(feature_dim, descriptor_dim, **kw))
register_encoder("stats_tiny")(
    lambda feature_dim, descriptor_dim=0, **kw: StatsEncoder(feature_dim, descriptor_dim, **{"hidden": 16, "embed_dim": 8, **kw})
)
register_encoder("attention")(
    lambda feature_dim, descriptor_dim=0, **kw: AttentionEncoder(feature_dim, descriptor_dim, **kw)
)
register_encoder("attention_tiny")(
    lambda feature_dim, descriptor_dim=0, **kw: AttentionEncoder(
        feature_dim, descriptor_dim, **{"hidden": 16, "embed_dim": 8, "heads": 2, **kw}
    )
)
register_encoder("descriptors")(
    lambda feature_dim=0, descriptor_dim=1, **kw: DescriptorEncoder(feature_dim, descriptor_dim, **kw)
)
register_encoder("descriptors_tiny")(
    lambda feature_dim=0, descriptor_dim=1, **kw: DescriptorEncoder(feature_dim, descriptor_dim, **{"hidden": 16, "embed_dim": 8, **kw})
)


class FeatureExtractor:
    """Frozen backbone features of a task's images, computed in batches and cached per task."""

    def __init__(self, backbone: nn.Module, device: torch.device | str = "cpu", batch_size: int = 256) -> None:
        self.backbone = backbone.eval()
        self.device = torch.device(device)
        self.backbone.to(self.device)
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Features [n, D] (float32, CPU) of uint8 images [n, C, H, W]."""
        out = []
        amp = self.device.type == "cuda"
        for i in range(0, len(images), self.batch_size):
            x = images[i : i + self.batch_size].to(self.device, non_blocking=True).float().div_(255)
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=amp):
                f = self.backbone.forward_features(x)
            out.append(f.float().cpu())
        return torch.cat(out) if out else torch.zeros(0, getattr(self.backbone, "feature_dim", 0))

    def task_features(self, task, key: str | None = None, max_images: int | None = None, seed: int = 0) -> np.ndarray:
        """Features of (up to ``max_images``, a seeded sample of) the task's images, cached by ``key``."""
        key = key or task.name
        if key not in self._cache:
            n = len(task)
            idx = np.arange(n)
            if max_images is not None and n > max_images:
                idx = np.sort(np.random.default_rng(seed).choice(n, max_images, replace=False))
            feats = self.features(task.images(idx)).numpy()
            self._cache[key] = (feats, task.labels[idx].copy())
        return self._cache[key]

