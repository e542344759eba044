"""No import cycle inside the runtime, checked on its import graph.

Every import counts: top-level, lazy (inside a function) and for types only (``TYPE_CHECKING``), since
each is a dependency a reader has to follow. ``from . import x`` is an edge to the module ``x``; any
other name imported from a package is an edge to the package. The facade ``sqs_lambda/__init__.py``
re-exports the public API, so it depends on everything; no runtime module may import a name from it.
"""

from __future__ import annotations

import graphlib
from pathlib import Path

from test_layers import ROOT, RUNTIME, imports


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def import_graph(package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports (the facade left out: see the docstring)."""
    paths = {module_name(path): path for path in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        if module == package:
            continue
        targets: set[str] = set()
        for _, imported, names in imports(path):
            submodules = {f"{imported}.{name}" for name in names if f"{imported}.{name}" in paths}
            targets |= submodules or ({imported} if imported in paths else set())
        graph[module] = targets - {module, package}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_cycle_check_finds_a_cycle_when_there_is_one() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    graph = import_graph(RUNTIME)
    assert "sqs_lambda.wire.payloads" in graph["sqs_lambda.consuming.dispatch"]  # imported inside a method
    assert "sqs_lambda.aws.sqs" in graph["sqs_lambda.consuming.invoke"]  # under TYPE_CHECKING
    assert "sqs_lambda.consuming.backoff" in graph["sqs_lambda.router"]  # `from . import backoff`


def test_no_import_cycle_inside_the_runtime() -> None:
    cycle = cycle_in(import_graph(RUNTIME))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_runtime_module_imports_from_the_facade() -> None:
    paths = sorted((ROOT / RUNTIME).rglob("*.py"))
    modules = {module_name(path) for path in paths}
    from_facade = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in paths
        if module_name(path) != RUNTIME
        for _, imported, names in imports(path)
        if imported == RUNTIME
        for name in names
        if f"{RUNTIME}.{name}" not in modules
    ]
    assert from_facade == []
