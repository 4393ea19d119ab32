"""What one run of a compiled graph gives (engine.Compiled.run): every node's value and
∂target/∂node, the notes, and where NaN/Inf appears, worked out when first asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from autograd_bridge.node_checks import no_partial_reason, upstream
from graph.ops import FLOAT_DTYPES

if TYPE_CHECKING:
    from autograd_bridge.engine import Compiled


class Result:
    """Forward values and ∂target/∂node for every node, keyed by node id.

    `nonfinite`: where NaN/Inf first appears, as (node id, what: a Note where it names a node): a
    value not finite although its inputs are, and a partial not finite although the partials and
    inputs of every node it feeds are finite; empty when all is finite. `nonfinite_spread`: every
    node whose value or partial holds NaN/Inf. They (and the notes of them) are worked out when
    first read: on a GPU the check's answer stays on the device until then, so a run waits for
    no kernel."""

    def __init__(self, target: str, values: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
                 notes: list[str] | None = None,
                 scan: Callable[[], tuple[list[tuple[str, str]], frozenset[str]]] | None = None) -> None:
        self.target, self.values = target, values
        self.grads = grads  # None: the node does not require grad / is unused
        self._notes = [] if notes is None else notes  # those naming nodes are Notes
        self._nonfinite: list[tuple[str, str]] = []
        self._spread: frozenset[str] = frozenset()
        self._scan = scan  # (nonfinite, spread), adding their notes; None once done

    def _settled(self) -> Result:
        if self._scan is not None:
            scan, self._scan = self._scan, None
            self._nonfinite, self._spread = scan()
        return self

    def __getstate__(self) -> dict:  # a copy or a pickle gets the answer, not the pending scan
        return vars(self._settled()).copy()

    def __repr__(self) -> str:
        return f"Result(target={self.target!r}, {len(self.values)} values, nonfinite={self.nonfinite!r})"

    @property
    def notes(self) -> list[str]:
        return self._settled()._notes

    @property
    def nonfinite(self) -> list[tuple[str, str]]:
        return self._settled()._nonfinite

    @property
    def nonfinite_spread(self) -> frozenset[str]:
        return self._settled()._spread

    def no_grad_reason(self, node_id: str, compiled: Compiled, name: Callable[[str], str] = str) -> str | None:
        """Why the node has no partial, or None; other nodes named by `name` (default: the id,
        as the command line's users type it; the app passes graph.naming.by_title)."""
        if self.grads.get(node_id) is not None:
            return None
        if node_id not in compiled.source.requires_grad:
            node = compiled.graph.nodes[node_id]
            if node.is_tensor:
                return "requires_grad is off" if node.dtype in FLOAT_DTYPES else f"{node.dtype}: no gradient"
            return "a bool result: no gradient" if node.spec.result_dtype == "bool" else "no input needs grad"
        up = compiled._upstream.get(self.target)  # one pass over the graph per target, kept
        if up is None:
            up = compiled._upstream[self.target] = upstream(compiled.graph, compiled.source.order,
                                                            compiled.source.requires_grad, self.target)
        return no_partial_reason(compiled.graph, up, node_id, name, self.grads)
