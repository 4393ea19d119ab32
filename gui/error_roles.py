"""Which node a compute's error is about, as the canvas and the inspector show it (Qt-free).

The engine names the node that failed and, beside it, the inputs whose shapes its message
quotes (ComputeResult.error_nodes: "select1: select of [2]: index 2 is out of bounds" names
select1 and y). The node that failed holds no value in the result (it and all it feeds are
left out); an input named beside it holds one, made by its own op, which did not fail. That
input keeps its value and is said to feed the failing node; the error stays the failing node's.

A node holding a value may still be named by an error of its own (a target that cannot be
differentiated, a backward that fails): unless it also feeds a node that failed, the error
stays its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gui.titles import formula_name, title_by_id

if TYPE_CHECKING:
    from autograd_bridge.compute import ComputeResult
    from graph.model import Graph


def failing_fed(graph: Graph, node_id: str, result: ComputeResult | None) -> list[str]:
    """The failing nodes this node feeds when the result's error names it only as their input:
    it holds a value, they hold none. Empty when there is no error or it is its own."""
    if result is None or not result.error or node_id not in result.error_nodes or node_id not in result.nodes:
        return []
    if node_id not in graph.nodes:
        return []
    return [c for c in graph.consumers_of(node_id) if c in result.error_nodes and c not in result.nodes]


def involvement(graph: Graph, node_id: str, result: ComputeResult | None) -> str | None:
    """"feeds y[2], which fails" (the failing nodes by their titles) for an input the error
    names beside the node that failed; None for a node whose error is its own, or no error."""
    failing = failing_fed(graph, node_id, result)
    if not failing:
        return None
    names = ", ".join(formula_name(title_by_id(graph, n)) for n in failing)
    return f"feeds {names}, which {'fails' if len(failing) == 1 else 'fail'}"
