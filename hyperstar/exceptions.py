"""Exceptions raised by hyperstar.

Every error meant for a user says what was wrong, what was got, and what to do, in one line.
"""

from __future__ import annotations


class HyperstarError(Exception):
    """Base class of every error hyperstar raises on purpose."""


class InvalidInputError(HyperstarError, ValueError):
    """A user-given argument, file or folder is not what was expected."""


class DataError(InvalidInputError):
    """A dataset (folder, arrays, torchvision dataset) cannot be used as a task."""


class ConfigurationError(InvalidInputError):
    """A configuration is not valid in the search space."""


class NotFittedError(HyperstarError, RuntimeError):
    """A model was used before `fit` was called."""


class IncompatibleVersionError(HyperstarError):
    """A saved file was written by an incompatible version of hyperstar."""


class MetaDataError(DataError):
    """A meta-dataset (its manifest or results) or a table given to import holds damaged or bad values."""
