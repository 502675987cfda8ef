"""Fine-tuning one configuration on one task for a budget of epochs, with its per-epoch curve;
resumable from a checkpoint to a larger budget (how Hyperband promotes a configuration).

Modules: ``engine`` (:func:`fine_tune` and its training loop), ``augment`` (on-device augmentation),
``schedule`` (the learning-rate schedule over the horizon), ``checkpoint`` (:class:`TrainState`, save /
load / resume checks), ``result`` (:class:`EpochRecord`, :class:`FineTuneResult`), ``wiseft`` (WiSE-FT's interpolation, the exported
model: :func:`load_model`).
"""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {"fine_tune": "hyperstar.finetune.engine", "lr_multiplier": "hyperstar.finetune.schedule",
            "EpochRecord": "hyperstar.finetune.result", "FineTuneResult": "hyperstar.finetune.result",
            "TrainState": "hyperstar.finetune.checkpoint", "resolve_device": "hyperstar._internal.device",
            "load_model": "hyperstar.finetune.wiseft", "WISE_ALPHAS": "hyperstar.finetune.wiseft"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
