"""The shape of the code: layers that only point down, and extensions used through their public
API. Read from the source with ``ast``, so a change that breaks a rule fails here by name."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "app"
# Names whose underscore is public API: Werkzeug's documented way to get the object behind a
# proxy such as ``current_app`` (to hand the app to a thread).
PUBLIC_UNDERSCORE_NAMES = {"_get_current_object"}


def modules() -> dict[str, Path]:
    """``app.x.y`` -> its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def _known(name: str) -> str | None:
    """The module ``name`` lives in (``app.api.blp`` -> ``app.api``), if it is one of ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The modules of the package that ``module`` imports (at any level of its code)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _known(name)
            if target and target != module:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    return {module: imports_of(module) for module in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search, three colours)."""
    colour = dict.fromkeys(edges, "white")
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = "grey"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if colour[nxt] == "grey":
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == "white" and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = "black"
        return None

    for start in sorted(edges):
        if colour[start] == "white" and (cycle := visit(start)):
            return cycle
    return None


# --- imports --------------------------------------------------------------------------------


def test_the_package_has_no_import_cycle():
    assert find_cycle(graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_no_module_imports_the_factory_package():
    importers = sorted(module for module, targets in graph().items() if "app" in targets)
    assert importers == []


def test_extensions_import_only_third_party_packages():
    assert imports_of("app.extensions") == set()


# --- private attributes ---------------------------------------------------------------------


def _is_super_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def private_attribute_uses() -> list[str]:
    """Every ``x._name`` in the package where ``x`` is not ``self``/``cls``/``super()`` of our
    own class: reading or setting another object's internals (an extension's, typically)."""
    uses = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            name = node.attr
            if not name.startswith("_") or name.startswith("__") or name in PUBLIC_UNDERSCORE_NAMES:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
                continue
            if _is_super_call(node.value):  # an override calling its own base class
                continue
            uses.append(f"{module}:{node.lineno}: .{name}")
    return uses


def test_no_private_attribute_of_another_object_is_read_or_set():
    assert private_attribute_uses() == []


def test_the_private_attribute_check_sees_one(tmp_path, monkeypatch):
    probe = tmp_path / "app" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("def f(limiter):\n    return limiter._storage\n")
    monkeypatch.setitem(MODULES, "app.probe", probe)

    assert "app.probe:2: ._storage" in private_attribute_uses()
