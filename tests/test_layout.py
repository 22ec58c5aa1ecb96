"""The package's shape: no import cycle, every module says what it owns, classes name real modules."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import boto3
import pytest

import botwo

PACKAGE = Path(botwo.__file__).parent
MODULES = sorted(p for p in PACKAGE.glob("*.py"))


def _name(path: Path) -> str:
    return "botwo" if path.stem == "__init__" else f"botwo.{path.stem}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """The botwo modules ``path`` imports when it runs (anywhere but under TYPE_CHECKING)."""
    found: set[str] = set()
    skipped: set[int] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = "botwo" + (f".{node.module}" if node.module else "")
            elif node.level == 0 and node.module and node.module.split(".")[0] == "botwo":
                base = node.module
            else:
                continue
            modules = {f"botwo.{a.name}" for a in node.names} if base == "botwo" else {base}
            found |= {m for m in modules if (PACKAGE / f"{m.split('.')[-1]}.py").exists()} or {"botwo"}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "botwo"}
    found.discard(_name(path))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> the modules it imports), or ``None``."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    # Modules that import "botwo" itself (the demo) do so in functions that run after the
    # package is loaded, never at import: the package node is left out.
    graph = {_name(p): _imports(p) - {"botwo"} for p in MODULES}
    assert "botwo._client" in graph["botwo._factory"]  # the walk saw real edges
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_checker_sees_cycles_and_skips_type_checking_imports(tmp_path: Path) -> None:
    # The test above can fail: the same pieces find a deliberate cycle, and an import under
    # TYPE_CHECKING (which never runs) is not an edge.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    a = tmp_path / "a.py"
    a.write_text("from ._client import x\nif TYPE_CHECKING:\n    from ._plan import y\n")
    assert _imports(a) == {"botwo._client"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_module_opens_with_what_it_owns(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and len(doc.split()) >= 5, f"{path.name} has no opening docstring"


def test_every_class_names_a_module_that_exists() -> None:
    s3 = botwo.client(
        {"s3": boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")},
        [{"bucket_name": "*", "client": "s3"}],
    )
    classes = [type(s3), *(v for v in vars(botwo).values() if inspect.isclass(v))]
    for cls in classes:
        module = importlib.import_module(cls.__module__)
        assert module.__name__.startswith("botwo"), cls
    assert isinstance(s3, botwo.RoutingClient)
