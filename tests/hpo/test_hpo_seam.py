"""Tests of hyperstar.hpo: the plain-type seam and the shared secret."""

from __future__ import annotations

import numpy as np
import pytest
import serpent

from hyperstar.exceptions import HyperstarError
from hyperstar.hpo import NameServer, TabularWorker, plain_budget, plain_config, plain_info, pyro_secret, run_tabular


def test_plain_types_cross_the_seam():
    config = {"optimizer": np.str_("sgd"), "lr": np.float64(0.1), "batch_size": np.int64(32), "flag": np.bool_(True)}
    out = plain_config(config)
    assert {k: type(v) for k, v in out.items()} == {"optimizer": str, "lr": float, "batch_size": int, "flag": bool}
    assert serpent.loads(serpent.dumps(out)) == out
    with pytest.raises(ValueError):  # the trap: serpent cannot carry numpy values
        serpent.loads(serpent.dumps({"budget": np.float64(1.0)}))
    budget = plain_budget(np.float64(9) * np.power(3.0, -2.0))
    assert type(budget) is float and budget == 1.0
    with pytest.raises(TypeError, match="only str, int, float"):
        plain_config({"lr": [0.1]})
    assert plain_info({"a": np.float32(np.nan), "b": (np.int8(1), np.arange(2))}) == {"a": None, "b": [1, [0, 1]]}


def test_values_crossing_pyro_are_plain_python(meta, monkeypatch):
    seen = []
    evaluate = TabularWorker.evaluate

    def spy(self, config_id, config, budget, working_directory):
        seen.append((config_id, config, budget))
        return evaluate(self, config_id, config, budget, working_directory)

    monkeypatch.setattr(TabularWorker, "evaluate", spy)
    run_tabular(meta, 0, "bohb", warm_start=True, seed=0)
    assert len(seen) >= 6
    for config_id, config, budget in seen:
        assert all(type(i) is int for i in config_id)
        assert all(type(v) in (int, float, str) for v in config.values()), config
        assert type(budget) is float


def test_a_wrong_secret_cannot_reach_the_nameserver():
    import Pyro4

    from hyperstar.hpo.seam import locate_nameserver

    with pyro_secret("right"), NameServer(host="127.0.0.1", port=0) as ns:
        assert ns.host == "127.0.0.1" and ns.port > 0
        with locate_nameserver(ns.host, ns.port) as proxy:
            assert "Pyro.NameServer" in proxy.list()
            state = proxy.__getstate_for_dict__()
            assert state[5] is None  # the secret never goes on the wire inside a proxy
        for other in ("wrong", None):
            with pyro_secret(other), pytest.raises(HyperstarError, match="secret does not match"):
                locate_nameserver(ns.host, ns.port)
        assert Pyro4.config.SERIALIZER == "serpent" and "pickle" not in Pyro4.config.SERIALIZERS_ACCEPTED
