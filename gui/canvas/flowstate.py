"""What the canvas knows of the gradient flowing along its wires: the last FlowResult
(autograd_bridge.flows, computed on the worker), each wire's code for drawing
(gui.canvas.flowstyle), the thresholds, and the words a wire's tooltip says.

Kept by the scene's Overview (which draws the wires); filled by gui.canvas.flowview.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from autograd_bridge.compute import ComputeResult
from autograd_bridge.flows import NO_DEPENDENCE, FlowResult
from graph.model import Edge, Graph
from gui.canvas import flowstyle
from gui.canvas.flowstyle import NO_FLOW, Thresholds
from gui.titles import formula_name, partial_names


def answers(flows: FlowResult | None, result: ComputeResult | None) -> bool:
    """Whether the flows were computed for the run that result shows."""
    return (flows is not None and result is not None and not flows.cancelled
            and (flows.revision, flows.target, flows.device, flows.dtype) ==
            (result.revision, result.target, result.device, result.dtype)
            and flows.grad_output == result.grad_output)


class FlowState:
    def __init__(self) -> None:
        self.on = False  # the view is shown: wires coloured by their flow
        self.result: FlowResult | None = None
        self.thresholds = Thresholds()
        self.codes: dict[Edge, int] = {}  # edges along which a gradient flows; the rest are NO_FLOW
        self.counts: Counter[int] = Counter()  # wires per code
        # Asks for the flows of the run the scene shows (set by the window's FlowView); a
        # tooltip asks when it finds none.
        self.request: Callable[[], None] | None = None

    def forget(self) -> None:
        """A new document: nothing known."""
        self.result, self.codes, self.counts = None, {}, Counter()

    def set_result(self, flows: FlowResult) -> None:
        self.result = flows
        self.classify()

    def classify(self) -> None:
        """Each wire's code from its norm and the thresholds (again after a threshold edit)."""
        flows = self.result.flows if self.result is not None else {}
        edges = list(flows)
        codes = flowstyle.classify(np.array([flows[e].norm for e in edges], dtype=float), self.thresholds)
        self.codes = dict(zip(edges, codes.tolist(), strict=True))
        self.counts = Counter(self.codes.values())
        if self.result is not None:
            self.counts[NO_FLOW] += len(self.result.none)

    def code(self, edge: Edge) -> int:
        return self.codes.get(edge, NO_FLOW)

    def lines(self, edge: Edge, graph: Graph, shown: ComputeResult | None) -> list[str]:
        """What a wire's tooltip says of its gradient (the tooltip escapes the text): the
        partial's name by titles, through which port, the flow, its shape and norm."""
        if shown is None or shown.target is None or shown.target not in graph.nodes:
            return ["no target: no gradient flows (click ∂ on a node)"]
        flows = self.result
        if not answers(flows, shown):
            if self.request is not None:
                self.request()
            return ["gradient along this wire: computing…"]
        if flows.error:
            return [f"gradient along this wire: {flows.error}"]
        nodes = graph.nodes
        if edge.src not in nodes or edge.dst not in nodes:
            return []
        name = partial_names(nodes[shown.target].title, nodes[edge.src].title, shown.grad_output is not None)[0]
        via = f"{name} via {formula_name(nodes[edge.dst].title)}.{edge.port}"
        flow = flows.flows.get(edge)
        if flow is None:
            # A wire the computed part left out (it feeds a node that cannot run): flows exist
            # only when the target was computed, and nothing computed depends on such a node.
            left_out = NO_DEPENDENCE.format(target=formula_name(nodes[shown.target].title),
                                            dst=formula_name(nodes[edge.dst].title))
            return [f"{via}: {flows.none.get(edge, left_out)}"]
        out = [f"{via}: {flow.text}",
               f"the gradient flowing along this wire: shape {list(flow.shape)}, norm {flow.norm:.4g}"]
        code = self.code(edge)
        t = self.thresholds
        if code == flowstyle.VANISHING:
            out.append(f"vanishing: below {t.vanish:.3g} ({t.vanish_factor:g} × the largest flow)")
        elif code == flowstyle.EXPLODING:
            out.append(f"exploding: above {t.explode:.3g} ({t.explode_factor:g} × the median flow)")
        elif code == flowstyle.NONFINITE:
            out.append("exploding: it holds NaN/Inf")
        return out
