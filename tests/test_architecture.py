"""The layering of DESIGN §1, checked: knowledge is pure, arrows point down, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("knowledge", "bot", "handlers")
#: What knowledge/ may import besides itself: the standard library's pure parts, Jinja2 and RE2.
#: Python's `re` only where tests/test_linear.py lists its patterns: every other regex runs on
#: RE2, so its time is linear in the text (knowledge/linre.py).
KNOWLEDGE_ALLOWED = {"__future__", "collections", "dataclasses", "functools", "html", "jinja2", "re2", "threading",
                     "tomllib", "typing", "pathlib"}
PYTHON_RE_ALLOWED = {"knowledge.normalize"}


def _imports(path: Path) -> set[str]:
    """Top-level modules imported at run time (imports under `if TYPE_CHECKING:` excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def test_knowledge_is_pure() -> None:
    for name, path in MODULES.items():
        if not name.startswith("knowledge"):
            continue
        for imported in _imports(path):
            top = imported.split(".")[0]
            allowed = top == "knowledge" or top in KNOWLEDGE_ALLOWED or (top == "re" and name in PYTHON_RE_ALLOWED)
            assert allowed, f"{name} imports {imported}"


def test_arrows_point_down() -> None:
    for name, path in MODULES.items():
        tops = {i.split(".")[0] for i in _imports(path)}
        if name.startswith("knowledge"):
            assert not tops & {"bot", "handlers"}, name
        if name.startswith("bot") and name != "bot.app":
            assert "handlers" not in tops, f"{name}: only bot/app.py wires handlers"


def test_no_import_cycles() -> None:
    graph = {name: {i for i in _imports(path) if i in MODULES and i != name} for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])
