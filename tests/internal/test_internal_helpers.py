"""Registry, argument checks, plain-type conversion, rank statistics, lazy imports."""

import subprocess
import sys

import numpy as np
import pytest

from hyperstar._internal.convert import json_safe, plain, plain_dict
from hyperstar._internal.registry import Registry
from hyperstar._internal.stats import spearman, spearman_matrix
from hyperstar._internal.validation import check_choice, check_float, check_int
from hyperstar.exceptions import InvalidInputError


def test_registry_refuses_a_taken_name_unless_overwrite():
    reg = Registry("widget")
    reg.add("a", lambda: 1)
    with pytest.raises(InvalidInputError, match="already registered.*overwrite=True"):
        reg.add("a", lambda: 2)
    reg.add("a", lambda: 3, overwrite=True)
    assert reg.create("a") == 3 and reg.names() == ["a"] and "a" in reg
    with pytest.raises(InvalidInputError, match="Unknown widget 'b'. Available: a."):
        reg.get("b")


def test_every_model_registry_follows_the_overwrite_rule():
    from hyperstar.models import register_backbone, register_encoder, register_predictor

    for register, name in ((register_backbone, "smallcnn"), (register_encoder, "stats"), (register_predictor, "mlp")):
        with pytest.raises(InvalidInputError, match="already registered"):
            register(name)(lambda **kw: None)


@pytest.mark.parametrize("value", [0, 501, 2.0, True, "3", None])
def test_check_int_rejects_with_the_one_template(value):
    with pytest.raises(InvalidInputError, match=r"The 'k' argument of recommend must be an int in \[1, 500\]. Got"):
        check_int(value, "k", "recommend", 1, 500)


def test_check_int_float_choice_accept_good_values():
    assert check_int(np.int64(7), "k", "f", 1) == 7 and type(check_int(np.int64(7), "k", "f", 1)) is int
    assert check_float(0.5, "eta", "f", 0.0, 1.0, low_open=True) == 0.5
    with pytest.raises(InvalidInputError, match=r"must be a finite number in \(0.0, 1.0\]"):
        check_float(0.0, "eta", "f", 0.0, 1.0, low_open=True)
    with pytest.raises(InvalidInputError, match="must be a finite number"):
        check_float(float("nan"), "x", "f")
    assert check_choice("hb", "optimizer", "tune", ("hb", "bohb")) == "hb"
    with pytest.raises(InvalidInputError, match="one of 'hb', 'bohb'. Got 'x'"):
        check_choice("x", "optimizer", "tune", ("hb", "bohb"))


def test_plain_and_json_safe_leave_only_python_types():
    values = plain_dict({"lr": np.float64(0.1), "opt": np.str_("sgd"), "bs": np.int32(64), "on": np.bool_(True)})
    assert values == {"lr": 0.1, "opt": "sgd", "bs": 64, "on": True}
    assert all(type(v) in (float, str, int, bool) for v in values.values())
    assert plain(np.array(2.5)) == 2.5
    assert json_safe({1: (np.nan, object)}, unknown=repr) == {"1": [None, repr(object)]}


def test_spearman_policy_for_undefined_is_the_callers():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(a, a) == pytest.approx(1.0)
    assert np.isnan(spearman(a, np.ones(4)))
    assert spearman(a, np.ones(4), undefined=0.0) == 0.0
    assert np.isnan(spearman(np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 2.5])))  # 2 finite pairs: too few
    s = spearman_matrix(np.vstack([a, -a, np.ones(4)]))
    assert s[0, 1] == pytest.approx(-1.0) and s[0, 2] == 0.0 and np.allclose(np.diag(s), 1.0)


def test_import_hyperstar_is_light():
    code = ("import sys, hyperstar; heavy = [m for m in ('torch', 'hpbandster', 'matplotlib', 'Pyro4') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_public_names_still_resolve():
    import hyperstar

    for name in hyperstar.__all__:
        assert getattr(hyperstar, name) is not None
    assert set(hyperstar.__all__) <= set(dir(hyperstar))
    with pytest.raises(AttributeError):
        hyperstar.no_such_name  # noqa: B018
