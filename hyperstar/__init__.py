"""hyperstar: task-aware hyperparameter recommendation for fine-tuning image classifiers.

The public API is re-exported here and loads on first use, so ``import hyperstar`` is light (torch,
hpbandster and matplotlib load when a name that needs them is first touched). See the README for a
quick start.

    >>> import hyperstar
    >>> hyperstar.default_configuration()["optimizer"]
    'sgd'
"""

from __future__ import annotations

import logging

from hyperstar._internal.lazy import lazy_exports
from hyperstar._version import __version__
from hyperstar.exceptions import (
    ConfigurationError,
    ConfigurationWarning,
    DataError,
    DiskFullError,
    HyperstarError,
    IncompatibleVersionError,
    InvalidInputError,
    MetaDataError,
    ModelFileError,
    NotFittedError,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    **{n: "hyperstar.models.backbones" for n in ("Backbone", "create_backbone", "list_backbones", "register_backbone")},
    **{n: "hyperstar.data.task" for n in ("Split", "Task")},
    **{n: "hyperstar.finetune.result" for n in ("EpochRecord", "FineTuneResult")},
    "fine_tune": "hyperstar.finetune.engine",
    "fine_tune_stilts": "hyperstar.stilts",
    **{n: "hyperstar.meta.dataset" for n in ("MetaDataset", "load_meta_dataset")},
    "import_table": "hyperstar.meta.importer",
    **{n: "hyperstar.ranking.recommender" for n in ("Recommendation", "Recommender")},
    **{n: "hyperstar.space.default" for n in
       ("default_configuration", "default_space", "sample_configurations", "validate_configuration")},
    "encode": "hyperstar.space.encoding",
}

__all__ = [
    "__version__",
    "Backbone",
    "create_backbone",
    "list_backbones",
    "register_backbone",
    "Split",
    "Task",
    "HyperstarError",
    "InvalidInputError",
    "DataError",
    "ConfigurationError",
    "NotFittedError",
    "IncompatibleVersionError",
    "ModelFileError",
    "MetaDataError",
    "DiskFullError",
    "ConfigurationWarning",
    "EpochRecord",
    "FineTuneResult",
    "fine_tune",
    "fine_tune_stilts",
    "MetaDataset",
    "load_meta_dataset",
    "import_table",
    "Recommender",
    "Recommendation",
    "default_space",
    "default_configuration",
    "sample_configurations",
    "validate_configuration",
    "encode",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
