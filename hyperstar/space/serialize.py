"""A search space as JSON: ConfigSpace's serialized dict (what ``ConfigurationSpace.to_json`` writes), the form
a run directory, a worker process and a meta-dataset's manifest keep.

    >>> from hyperstar.space import default_space, space_from_json, space_to_json, same_space
    >>> text = space_to_json(default_space())
    >>> same_space(space_from_json(text), default_space())
    True
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from hyperstar.exceptions import InvalidInputError

__all__ = ["space_to_json", "space_from_json", "space_to_dict", "space_from_dict", "load_space", "same_space"]

#: keys of the serialized dict that say which ConfigSpace wrote it, not what the space is
_PROVENANCE = ("python_module_version", "json_format_version", "format_version", "name")


def space_to_dict(space: ConfigurationSpace) -> dict[str, Any]:
    """``space`` as ConfigSpace's serialized dict (plain JSON types)."""
    return json.loads(json.dumps(space.to_serialized_dict(), sort_keys=True))


def space_to_json(space: ConfigurationSpace) -> str:
    """``space`` as ConfigSpace's JSON (what a run directory and worker processes keep)."""
    return json.dumps(space.to_serialized_dict(), sort_keys=True)


def space_from_dict(data: Mapping[str, Any]) -> ConfigurationSpace:
    """The space of a serialized dict (:func:`space_to_dict`, or the JSON ``ConfigurationSpace.to_json`` wrote)."""
    try:  # ConfigSpace pops keys from the nested dicts it reads: give it a copy
        return ConfigurationSpace.from_serialized_dict(copy.deepcopy(dict(data)))
    except Exception as exc:  # ConfigSpace raises several kinds for a bad document
        raise InvalidInputError(f"Not a ConfigSpace JSON search space ({type(exc).__name__}: {exc}).") from None


def space_from_json(text: str) -> ConfigurationSpace:
    """The space :func:`space_to_json` wrote."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"Not a ConfigSpace JSON search space ({type(exc).__name__}: {exc}).") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"Not a ConfigSpace JSON search space: expected a JSON object. Got {type(data).__name__}.")
    return space_from_dict(data)


def load_space(space: Any, argument: str = "space", where: str = "load_space") -> ConfigurationSpace:
    """A :class:`~ConfigSpace.ConfigurationSpace` from itself, its serialized dict, its JSON text or the path of
    its JSON file (``ConfigurationSpace.to_json(path)`` or :func:`space_to_json`)."""
    if isinstance(space, ConfigurationSpace):
        return space
    if isinstance(space, Mapping):
        return space_from_dict(space)
    if isinstance(space, (str, Path)):
        text = str(space)
        if isinstance(space, str) and text.lstrip().startswith("{"):
            return space_from_json(text)
        path = Path(space)
        if not path.is_file():
            raise InvalidInputError(f"The {argument!r} argument of {where} names no file: '{path}'. Give the path of a "
                                    "ConfigSpace JSON file (ConfigurationSpace.to_json(path)).")
        try:
            return space_from_json(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError(f"'{path}' is not UTF-8 text; expected a ConfigSpace JSON search space.") from None
        except InvalidInputError as exc:
            raise InvalidInputError(f"'{path}': {exc}") from None
    raise InvalidInputError(f"The {argument!r} argument of {where} must be a ConfigurationSpace, its serialized dict, "
                            f"its JSON text or the path of its JSON file. Got {type(space).__name__}.")


def same_space(a: ConfigurationSpace, b: ConfigurationSpace) -> bool:
    """Whether two spaces have the same hyperparameters, conditions and forbidden clauses (names of the spaces
    and the ConfigSpace version that wrote them aside)."""
    da, db = space_to_dict(a), space_to_dict(b)
    for d in (da, db):
        for key in _PROVENANCE:
            d.pop(key, None)
    return da == db
