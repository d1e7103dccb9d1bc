"""Imports run one way: no circles among the project's modules (of any length, lazy imports inside functions
included), the core (mer_live) imports none of the applications, and the applications (training, export,
gui) never import each other. Read from the source with ast, nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mer_live", "training", "export", "gui")
APPLICATIONS = ("training", "export", "gui")


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the four packages (a package is its __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that `name` imports anywhere in its file. `from a import b` names the module a.b
    when there is one, else a; a module's parent packages are not counted as imported."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan): each holds at least one circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_holds_top_level_and_lazy_imports():
    graph = import_graph()
    assert "mer_live.synthetic.render" in graph["mer_live.synthetic.layouts"]         # at the top
    assert "mer_live.streaming.source_argument" in graph["gui.session"]               # inside a function
    assert "mer_live.streaming.demo" in graph["mer_live.streaming.source_argument"]   # from a package import a module


def test_no_import_circles_among_the_project_modules():
    found = cycles(import_graph())
    assert not found, "import circles (each group imports itself through the others): " + "; ".join(
        " <-> ".join(group) for group in found)


def test_the_core_imports_no_application_and_the_applications_not_each_other():
    wrong = []
    for name, imported in import_graph().items():
        top = name.split(".")[0]
        for target in imported:
            target_top = target.split(".")[0]
            if target_top in APPLICATIONS and target_top != top:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "; ".join(sorted(wrong))
