"""hyperstar: task-aware hyperparameter recommendation for fine-tuning image classifiers.

The public API is re-exported here; see the README for a quick start.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from .backbones import Backbone, create_backbone, list_backbones, register_backbone  # noqa: E402
from .data import Split, Task  # noqa: E402
from .exceptions import (  # noqa: E402
    ConfigurationError,
    DataError,
    HyperstarError,
    IncompatibleVersionError,
    InvalidInputError,
    NotFittedError,
)
from .finetune import EpochRecord, FineTuneResult, fine_tune  # noqa: E402
from .metadata import MetaDataset, import_table, load_meta_dataset  # noqa: E402
from .recommender import Recommendation, Recommender  # noqa: E402
from .space import (  # noqa: E402
    default_configuration,
    default_space,
    encode,
    sample_configurations,
    validate_configuration,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
    "EpochRecord",
    "FineTuneResult",
    "fine_tune",
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
