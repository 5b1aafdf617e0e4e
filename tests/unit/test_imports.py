"""No import circle in the package, late imports included.

grimp (import-linter's library) reads every import statement of every module: at the
top, inside functions and under `if TYPE_CHECKING:` alike, so an import moved into a
function to dodge a circle still counts. A package's `__init__` is a module like any
other: `from jobmanager.client import Client` imports `jobmanager/client/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp


def import_graph() -> dict[str, set[str]]:
    """Each module of `jobmanager` and the modules of `jobmanager` it imports."""
    graph = grimp.build_graph("jobmanager", cache_dir=None)
    return {
        module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative), each sorted, in sorted order; a module importing itself is one too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def test_circles_finds_a_circle_through_a_late_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles(graph) == [["a", "b", "c"], ["e"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_grimp_sees_imports_inside_functions() -> None:
    """The check below is only worth something if a function's import is an edge."""
    graph = grimp.build_graph("jobmanager", cache_dir=None)
    details = graph.get_import_details(
        importer="jobmanager.cli.serve", imported="jobmanager.service.presence"
    )
    assert details, "cli/serve.py imports the presence inside `serve`"
    assert any(line["line_contents"].startswith("from") for line in details)


def test_no_import_circle() -> None:
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" ⇄ ".join(c) for c in found)
