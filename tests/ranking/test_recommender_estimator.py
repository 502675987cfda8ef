"""The Recommender is a scikit-learn estimator in fact, not only in name (issue 18)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFitted
from sklearn.utils.validation import check_is_fitted

from hyperstar.exceptions import InvalidInputError, NotFittedError
from hyperstar.ranking import Recommender


def test_get_params_set_params_clone_and_repr():
    rec = Recommender(steps=30, encoder="attention", seed=3)
    params = rec.get_params(deep=True)
    assert params["steps"] == 30 and params["encoder"] == "attention" and "seed" in params
    copy = clone(rec)
    assert copy is not rec and copy.get_params() == params
    assert rec.set_params(steps=40, lr=0.01) is rec and (rec.steps, rec.lr) == (40, 0.01)
    assert repr(Recommender(steps=30)) == "Recommender(steps=30)"
    with pytest.raises(ValueError, match="Invalid parameter"):
        rec.set_params(nonesuch=1)


def test_check_is_fitted_before_and_after():
    with pytest.raises(SklearnNotFitted):
        check_is_fitted(Recommender())
    check_is_fitted(Recommender.default())


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": -5}, "'steps' argument of Recommender must be an int >= 1. Got -5"),
    ({"steps": 0}, "Got 0"),
    ({"encoder": "nonesuch"}, "'encoder' argument of Recommender must be one of"),
    ({"lr": 0.0}, "'lr' argument of Recommender"),
    ({"use_descriptors": "yes"}, "must be True or False"),
])
def test_constructor_arguments_are_checked_at_fit_with_the_one_template(kwargs, message):
    from hyperstar._internal.paths import meta_data_dir
    from hyperstar.meta.dataset import load_meta_dataset

    rec = Recommender(**kwargs)  # stored as given, as scikit-learn estimators do
    with pytest.raises(InvalidInputError, match=message):
        rec.fit(load_meta_dataset(meta_data_dir() / "default"))
    assert not rec.__sklearn_is_fitted__()


def test_predict_gives_scores_and_score_is_a_deprecated_alias(tiny_task):
    rec = Recommender.default()
    configs = rec.configs_[:4]
    mean = rec.predict(tiny_task, configs)
    mean2, std = rec.predict(tiny_task, configs, return_std=True)
    assert mean.shape == (4,) and np.allclose(mean, mean2) and (std >= 0).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = rec.score(tiny_task, configs)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert np.allclose(old[0], mean)
    with pytest.raises(NotFittedError):
        Recommender().predict(tiny_task, configs)
