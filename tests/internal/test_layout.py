"""The package layout keeps its promises: data flows one way, hpbandster stays in hpo/, modules stay short."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "hyperstar"
#: Upstream first: a module may import only from its own package or from those before it.
ORDER = ["_version", "exceptions", "_internal", "space", "data", "suite", "models", "finetune", "meta", "ranking",
         "stilts", "plotting", "hpo", "demo", "cli"]
MAX_LINES = 700


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        yield path, rel, (rel.parts[0][:-3] if len(rel.parts) == 1 else rel.parts[0])


def _imports(path: Path, rel: Path):
    """Absolute names of everything ``path`` imports at run time (anywhere in the file, functions included;
    imports for type checkers only, under ``if TYPE_CHECKING:``, do not count)."""
    mod_parts = ["hyperstar", *rel.with_suffix("").parts]
    if mod_parts[-1] == "__init__":
        mod_parts = mod_parts[:-1]
        base = mod_parts
    else:
        base = mod_parts[:-1]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            node.body = []  # ast.walk has not entered it yet
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                yield ".".join(prefix + ([node.module] if node.module else []))
            elif node.module:
                yield node.module


def test_every_top_level_package_is_placed_in_the_flow():
    tops = {top for _, _, top in _modules()} - {"__init__", "__main__"}
    assert tops <= set(ORDER), f"place these in ORDER (and in the README's Development section): {tops - set(ORDER)}"


def test_modules_import_only_upstream():
    wrong = []
    for path, rel, top in _modules():
        if top in ("__init__", "__main__"):
            continue
        for name in _imports(path, rel):
            parts = name.split(".")
            if parts[0] != "hyperstar" or len(parts) < 2:
                continue
            if ORDER.index(parts[1]) > ORDER.index(top):
                wrong.append(f"{rel} imports {name}")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_hpbandster_is_imported_only_inside_hpo():
    wrong = [f"{rel} imports {name}" for path, rel, top in _modules() if top != "hpo"
             for name in _imports(path, rel) if name.split(".")[0] in ("hpbandster", "Pyro4")]
    assert not wrong, "\n".join(wrong)


def test_no_module_is_over_700_lines():
    long = [f"{rel}: {n}" for path, rel, _ in _modules() if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long, "split these modules:\n" + "\n".join(long)
