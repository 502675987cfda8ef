"""Task recipes, the family registry and :func:`make_task`."""

from __future__ import annotations

import copy
import inspect
import json
import logging
import numbers
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperstar.data import Task
from hyperstar._internal.registry import Registry
from hyperstar.exceptions import DataError, InvalidInputError

logger = logging.getLogger(__name__)

#: ``fn(params, rng) -> (images, labels, class_names)``; may also take a ``resolution`` keyword
#: and may return a 4th item, a plain dict of provenance (kept as ``task.provenance``).
FamilyFn = Callable[..., tuple[Any, Any, Sequence[str]]]

_NAME_OK = re.compile(r"^[a-z][a-z0-9_]*$")


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _plain_copy(params: Any, where: str) -> dict:
    """A deep copy of ``params`` made of plain JSON types, or InvalidInputError."""
    if not isinstance(params, dict):
        raise InvalidInputError(
            f"The 'params' argument of {where} must be a dict of JSON-serialisable values. "
            f"Got {type(params).__name__}."
        )

    def check(value: Any, path: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if isinstance(value, float) and type(value) is float:
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidInputError(
                    f"The parameter {path} of {where} must be a finite number. Got {value!r}."
                )
            return value
        if isinstance(value, (list, tuple)):
            return [check(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise InvalidInputError(
                        f"The parameter {path} of {where} must have str keys. Got {k!r}."
                    )
                out[k] = check(v, f"{path}.{k}")
            return out
        raise InvalidInputError(
            f"The parameter {path} of {where} must be a plain JSON value (None, bool, int, "
            f"float, str, list, dict). Got {type(value).__name__} {value!r}; convert numpy "
            "values with .item() or .tolist()."
        )

    return {k: check(v, f"'{k}'") for k, v in check(params, "params").items()}


def _slug(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(_slug(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "1" if value else "0"
    return re.sub(r"[^A-Za-z0-9._+]", "", str(value)) or "x"


def default_name(family: str, params: dict, seed: int) -> str:
    """The name a recipe gets when none is given: ``family-key=value-...-seedN``."""
    parts = [family] + [f"{k}={_slug(params[k])}" for k in sorted(params)] + [f"seed{seed}"]
    return "-".join(parts)


@dataclass(frozen=True)
class TaskRecipe:
    """A deterministic description of a task: family, parameters and seed.

    ``params`` holds plain JSON values only (it is copied on creation); ``name`` defaults to
    one derived from family, params and seed.

    Example::

        >>> r = TaskRecipe("glyphs", {"charset": "digits", "n_classes": 4, "per_class": 10})
        >>> r.name
        'glyphs-charset=digits-n_classes=4-per_class=10-seed0'
        >>> TaskRecipe.from_dict(r.to_dict()) == r
        True
    """

    family: str
    params: dict = field(default_factory=dict)
    seed: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        where = "TaskRecipe"
        if not isinstance(self.family, str) or not self.family:
            raise InvalidInputError(
                f"The 'family' argument of {where} must be a non-empty str (see "
                f"hyperstar.suite.list_families()). Got {self.family!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or (
            self.seed < 0
        ):
            raise InvalidInputError(
                f"The 'seed' argument of {where} must be an int >= 0. Got {self.seed!r}."
            )
        if not isinstance(self.name, str):
            raise InvalidInputError(
                f"The 'name' argument of {where} must be a str. Got {type(self.name).__name__}."
            )
        params = _plain_copy(self.params, where)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "seed", int(self.seed))
        if not self.name:
            object.__setattr__(self, "name", default_name(self.family, params, self.seed))

    def __hash__(self) -> int:
        return hash((self.family, _canonical(self.params), self.seed, self.name))

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict: ``family``, ``params``, ``seed``, ``name``."""
        return {
            "family": self.family,
            "params": copy.deepcopy(self.params),
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, d: Any) -> TaskRecipe:
        """Inverse of :meth:`to_dict` (``params``, ``seed`` and ``name`` are optional)."""
        keys = {"family", "params", "seed", "name"}
        if not isinstance(d, dict) or "family" not in d or set(d) - keys:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise InvalidInputError(
                "TaskRecipe.from_dict expects a dict with keys 'family' and optionally "
                f"'params', 'seed', 'name'. Got {got}."
            )
        return cls(
            family=d["family"], params=d.get("params", {}), seed=d.get("seed", 0),
            name=d.get("name", ""),
        )


# ----------------------------------------------------------------------------- parameter specs


@dataclass(frozen=True)
class IntParam:
    low: int
    high: int
    default: int | None = None

    def valid(self) -> str:
        return f"an int in [{self.low}, {self.high}]"

    def check(self, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int) or not self.low <= v <= self.high:
            return None
        return v


@dataclass(frozen=True)
class FloatParam:
    low: float
    high: float
    default: float | None = None

    def valid(self) -> str:
        return f"a number in [{self.low:g}, {self.high:g}]"

    def check(self, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return float(v) if self.low <= v <= self.high else None


@dataclass(frozen=True)
class ChoiceParam:
    choices: tuple
    default: Any = None

    def valid(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def check(self, v: Any) -> Any:
        return v if isinstance(v, type(self.choices[0])) and v in self.choices else None


@dataclass(frozen=True)
class SubsetParam:
    """None (pick at random) or a list of at least 2 distinct items of ``vocab``."""

    vocab: tuple
    default: Any = None

    def valid(self) -> str:
        shown = ", ".join(repr(v) for v in self.vocab[:12])
        shown += ", ..." if len(self.vocab) > 12 else ""
        return f"null or a list of at least 2 distinct items of [{shown}]"

    def check(self, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list) or len(v) < 2 or len(set(map(repr, v))) != len(v):
            return None
        kinds = {type(x) for x in self.vocab}
        if any(type(x) not in kinds or x not in self.vocab for x in v):
            return None
        return v


Spec = dict[str, Any]


def resolve_params(family: str, params: dict, spec: Spec) -> dict:
    """``params`` with defaults filled in, checked against ``spec``; InvalidInputError else."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise InvalidInputError(
            f"Unknown parameter(s) {unknown} for task family '{family}'. Valid parameters: "
            f"{', '.join(sorted(spec))}."
        )
    out = {}
    for key, p in spec.items():
        value = params.get(key, p.default)
        if value is None and not (key in params and p.default is not None):
            out[key] = None  # optional and absent: the family decides
            continue
        checked = p.check(value)
        if checked is None:
            raise InvalidInputError(
                f"The '{key}' parameter of task family '{family}' must be {p.valid()}. "
                f"Got {value!r}."
            )
        out[key] = checked
    return out


def class_count(
    family: str, params: dict, vocab: Sequence[Any], max_classes: int | None = None
) -> list[Any]:
    """The classes fixed by ``classes`` (or by ``n_classes`` covering the whole vocabulary);
    ``[]`` when a random subset of ``n_classes`` must be drawn. Raises on inconsistent params."""
    classes, n = params.get("classes"), params.get("n_classes")
    high = len(vocab) if max_classes is None else max_classes
    if classes is not None:
        if n is not None and n != len(classes):
            raise InvalidInputError(
                f"The 'n_classes' parameter of task family '{family}' must equal the length of "
                f"'classes' ({len(classes)}) when both are given. Got {n}."
            )
        return list(classes)
    if n is None:
        n = min(len(vocab), high)
        if n == len(vocab):
            return list(vocab)
    if n > high:
        raise InvalidInputError(
            f"The 'n_classes' parameter of task family '{family}' must be an int in [2, {high}]. "
            f"Got {n}."
        )
    return []


def pick_classes(
    family: str, params: dict, vocab: Sequence[Any], rng: np.random.Generator,
    max_classes: int | None = None,
) -> list[Any]:
    """The task's classes: ``params['classes']`` or a seeded random subset (in vocab order)."""
    given = class_count(family, params, vocab, max_classes)
    if given:
        return given
    n = params.get("n_classes") or min(len(vocab), max_classes or len(vocab))
    idx = np.sort(rng.choice(len(vocab), size=int(n), replace=False))
    return [vocab[i] for i in idx]


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class _Family:
    fn: FamilyFn
    spec: Spec | None
    wants_resolution: bool


_FAMILIES: Registry[_Family] = Registry("task family", listing="Registered families")


def _takes_resolution(fn: Callable) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    p = sig.parameters.get("resolution")
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)


def register_family(
    name: str, *, overwrite: bool = False, spec: Spec | None = None
) -> Callable[[FamilyFn], FamilyFn]:
    """Decorator adding a task family ``fn(params, rng) -> (images, labels, class_names)``.

    ``images``: uint8 ``[N, H, W]`` (grayscale) or ``[N, H, W, 3]``; ``labels``: ints in
    ``0..K-1``, every class present; ``class_names``: K distinct names. ``rng`` is a
    ``numpy.random.Generator`` seeded from the recipe: draw every random number from it. A
    family that also accepts a ``resolution`` keyword is told the output size, so it can draw
    at that size. Raise :class:`~hyperstar.exceptions.InvalidInputError` for bad params.
    ``overwrite=True`` replaces a family of the same name; ``spec`` (a dict of the parameter
    checkers in this module, as the built-in families use) makes :func:`make_task` check and
    fill in parameters before calling ``fn``.

    Example::

        >>> import numpy as np
        >>> @register_family("noise_levels", overwrite=True)
        ... def noise_levels(params, rng):
        ...     n = params.get("per_class", 10)
        ...     labels = np.repeat([0, 1], n)
        ...     level = 64 + 128 * labels[:, None, None]
        ...     images = (rng.random((2 * n, 8, 8)) * level).astype(np.uint8)
        ...     return images, labels, ["dim", "bright"]
        >>> make_task(TaskRecipe("noise_levels", {"per_class": 5})).n_classes
        2
    """
    if not isinstance(name, str) or not _NAME_OK.match(name):
        raise InvalidInputError(
            "The 'name' argument of register_family must be a lower-case identifier "
            f"([a-z][a-z0-9_]*). Got {name!r}."
        )

    def wrap(fn: FamilyFn) -> FamilyFn:
        if not callable(fn):
            raise InvalidInputError(
                f"register_family('{name}') must decorate a callable. Got {type(fn).__name__}."
            )
        same = name in _FAMILIES and _FAMILIES.get(name).fn is fn  # re-running a module is not a clash
        _FAMILIES.add(name, _Family(fn, spec, _takes_resolution(fn)), overwrite=overwrite or same)
        return fn

    return wrap


def list_families() -> list[str]:
    """Names of the registered task families, sorted."""
    return _FAMILIES.names()


def family_defaults(family: str) -> dict:
    """Default parameters of a built-in family (``{}`` for families registered without spec)."""
    fam = _get_family(family)
    if fam.spec is None:
        return {}
    return {k: p.default for k, p in fam.spec.items()}


def _get_family(family: str) -> _Family:
    return _FAMILIES.get(family)


def _recipe_rng(family: str, params: dict, seed: int) -> np.random.Generator:
    # Mixing the parameters into the seed keeps two tasks with the same seed from sharing their
    # random streams (e.g. the same font and jitter sequence).
    salt = zlib.crc32((family + "|" + _canonical(params)).encode("utf-8"))
    return np.random.default_rng([int(seed), int(salt)])


def _check_output(family: str, out: Any) -> tuple[np.ndarray, np.ndarray, list[str], dict | None]:
    what = f"Task family '{family}'"
    if not isinstance(out, (tuple, list)) or len(out) not in (3, 4):
        raise DataError(
            f"{what} returned a {type(out).__name__}; expected (images, labels, class_names) "
            "or (images, labels, class_names, provenance)."
        )
    images, labels, names = out[:3]
    provenance = out[3] if len(out) == 4 else None
    if provenance is not None:
        provenance = _plain_copy(provenance, f"the provenance of task family '{family}'")
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise DataError(
            f"{what} returned images of shape {tuple(images.shape)}; expected [N, H, W] "
            "(grayscale) or [N, H, W, 3]."
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{what} returned labels of dtype {labels.dtype} and shape {tuple(labels.shape)}; "
            "expected one int label per image, [N]."
        )
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise DataError(f"{what} returned class_names {names!r}; expected a list of str.")
    names = [str(c) for c in names]
    k = len(names)
    if len(labels) != len(images):
        raise DataError(f"{what} returned {len(images)} images but {len(labels)} labels.")
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        raise DataError(
            f"{what} returned labels in [{labels.min()}, {labels.max()}]; expected ints in "
            f"[0, {k - 1}] for its {k} class names."
        )
    missing = sorted(set(range(k)) - set(np.unique(labels).tolist()))
    if missing:
        raise DataError(
            f"{what} returned no image for class(es) {[names[i] for i in missing][:5]}; every "
            "class needs images."
        )
    return images, labels.astype(np.int64), names, provenance


def make_task(recipe: TaskRecipe | dict, resolution: int = 32) -> Task:
    """Build the :class:`~hyperstar.data.Task` a recipe describes (3 channels, in memory).

    Deterministic: the same recipe gives the same images and labels. Grayscale families give
    grayscale tasks (stored once, repeated to RGB on read; ``describe()`` sees them as gray).

    Example::

        >>> task = make_task({"family": "gratings", "params": {"n_classes": 3, "per_class": 5}})
        >>> task.n_classes, len(task), tuple(task.images([0]).shape)
        (3, 15, (1, 3, 32, 32))
    """
    if isinstance(recipe, dict):
        recipe = TaskRecipe.from_dict(recipe)
    elif not isinstance(recipe, TaskRecipe):
        raise InvalidInputError(
            "The 'recipe' argument of make_task must be a TaskRecipe or its dict form. Got "
            f"{type(recipe).__name__}."
        )
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral) or not (
        8 <= resolution <= 512
    ):
        raise InvalidInputError(
            "The 'resolution' argument of make_task must be an int in [8, 512]. "
            f"Got {resolution!r}."
        )
    fam = _get_family(recipe.family)
    params = recipe.params
    if fam.spec is not None:
        params = resolve_params(recipe.family, params, fam.spec)
    rng = _recipe_rng(recipe.family, params, recipe.seed)
    kwargs = {"resolution": int(resolution)} if fam.wants_resolution else {}
    out = fam.fn(copy.deepcopy(params), rng, **kwargs)
    images, labels, names, provenance = _check_output(recipe.family, out)
    task = Task.from_arrays(
        images, labels, resolution=int(resolution), channels=3, name=recipe.name,
        class_names=names,
    )
    task.source = f"hyperstar.suite:{recipe.family}"
    # Where the images came from beyond the recipe (e.g. Debian package versions, file digest);
    # None for families that draw from the recipe alone.
    task.provenance = provenance
    logger.debug("Made task %s: %d images, %d classes.", recipe.name, len(task), task.n_classes)
    return task
