"""Fine-tuning one configuration on one task for a budget of epochs, with its per-epoch curve;
resumable from a checkpoint to a larger budget (how Hyperband promotes a configuration)."""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {n: "hyperstar.finetune.engine" for n in ("EpochRecord", "FineTuneResult", "fine_tune", "lr_multiplier")}
_EXPORTS["resolve_device"] = "hyperstar._internal.device"
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
