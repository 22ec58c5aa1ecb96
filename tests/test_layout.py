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


def test_the_import_graph_has_no_cycle() -> None:
    graph = {_name(p): _imports(p) - {"botwo"} for p in MODULES}
    # The package's __init__ re-exports: modules that import "botwo" itself do so in functions
    # that run after the package is loaded (the demo, the docs' examples), never at import.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert "botwo._client" in graph["botwo._factory"]  # the walk saw real edges


def test_the_checker_finds_a_cycle(tmp_path: Path) -> None:
    # The test above can fail: the same parser over a deliberate cycle finds its edges.
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
