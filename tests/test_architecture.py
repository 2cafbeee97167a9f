"""The layering, checked: knowledge is pure, arrows point down, no import cycles, no huge modules.

Layers, lowest first (a module may import its own package and anything in a lower layer):

    knowledge                      the engine, rules and catalogues (pure)
    bot.metrics                    counters every layer may bump (imports nothing of hsperm)
    bot.config, redact, facts, work, pasted_text, limits, slack_retry   settings and small shared helpers
      and bot.forensics            (same layer) pure: HubSpot's activity records -> statements
    bot.hubspot, store, render, slack_client, slack_files, slack_identity, logs
                                   HubSpot's API, persistence, terminal text, Slack's, logging
    bot.lookup                     live lookup (uses bot.hubspot)
    bot.messages, bot.services     Block Kit; what handlers are given
    handlers                       Slack listeners
    bot.app, bot.web, bot.server, bot.__main__   wiring and entry points
"""

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


#: Lowest first. Each entry is a module or a package prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("knowledge",),
    ("bot.metrics",),
    (
        "bot.config", "bot.redact", "bot.facts", "bot.work", "bot.pasted_text", "bot.forensics", "bot.limits",
        "bot.slack_retry",
    ),
    ("bot.hubspot", "bot.store", "bot.render", "bot.slack_client", "bot.slack_files", "bot.slack_identity", "bot.logs"),
    ("bot.lookup", "bot.approvals", "bot.policy", "bot.audit"),
    ("bot.messages", "bot.services"),
    ("handlers",),
    ("bot.app",),
    ("bot.web",),
    ("bot.server",),
    ("bot.__main__", "bot"),
)
#: Longer than this, a module must say at its top why it is one module.
MAX_LINES = 400


def _group(module: str) -> tuple[int, str]:
    """(layer, the package or module that owns `module`)."""
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return rank, prefix
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_arrows_point_down() -> None:
    for name, path in MODULES.items():
        rank, owner = _group(name)
        for imported in _imports(path):
            if imported not in MODULES:
                continue
            their_rank, their_owner = _group(imported)
            where = f"{name} (layer {rank}) imports {imported} (layer {their_rank})"
            assert their_rank < rank or their_owner == owner, where


def test_every_module_is_in_a_layer() -> None:
    for name in MODULES:
        _group(name)


def test_long_modules_say_why_at_the_top() -> None:
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        assert "lines" in doc, f"{name} has {text.count(chr(10))} lines and no reason for it in its docstring"


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


def test_no_test_module_imports_another() -> None:
    """Shared pastes live in tests/samples.py and shared steps in their own modules, so a test
    module can be read (and deleted) on its own."""
    for path in (REPO / "tests").rglob("test_*.py"):
        for imported in _imports(path):
            leaf = imported.split(".")[-1]
            assert not (imported.startswith("tests.") and leaf.startswith("test_")), f"{path.name} imports {imported}"
