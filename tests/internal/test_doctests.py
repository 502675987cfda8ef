"""The ``>>>`` examples in the package's docstrings run and pass (one test per module that has any)."""

import doctest
import importlib
import pkgutil

import pytest

import hyperstar


def _modules_with_examples():
    names = [m.name for m in pkgutil.walk_packages(hyperstar.__path__, "hyperstar.") if not m.name.endswith("__main__")]
    out = []
    for name in ["hyperstar", *names]:
        spec = importlib.util.find_spec(name)
        if spec and spec.origin and ">>>" in open(spec.origin).read():
            out.append(name)
    return out


MODULES = _modules_with_examples()


def test_the_package_has_doctests():
    assert len(MODULES) >= 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} mentions >>> but no doctest was found"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name} (output above)"
