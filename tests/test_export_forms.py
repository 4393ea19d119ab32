"""The export's three forms (autograd_bridge.export): script, function, nn.Module.

Round trips: a graph exported as a function or a module and imported again with torch.fx
(autograd_bridge.fx_import) gives the graph's values and gradients (hypothesis, over random
graphs of tests/test_calculus.py and over every catalogue op the import lowers, with the op's
fitting shapes from tests/test_gradcheck_catalogue.py); the exported script prints the .grad of
`gradcanvas grad --json`; real models (tests/test_fx_import.py) imported and exported as a module
load the original's parameters and give its gradients (float64, 1e-9 relative).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_calculus import computable_graphs
from test_gradcheck_catalogue import OP_NAMES, op_graph

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_text
from autograd_bridge.fx_import import import_function, import_module
from gradcanvas.cli import main
from graph.fileformat import save
from graph.model import Edge, Graph, Node

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# Catalogue ops the import does not lower yet (autograd_bridge/fx_lower.py, fx_layers.py): an
# exported call to them is refused on import, in one line naming it. Not the export's to fix.
IMPORT_GAPS: set[str] = set()


def run_text(text: str, as_main: bool = False) -> tuple[dict, str]:
    """Execute exported text in a fresh namespace; (its globals, what it printed)."""
    ns = {"__name__": "__main__" if as_main else "exported"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, "exported.py", "exec"), ns)  # noqa: S102 - the text this test exported
    return ns, out.getvalue()


def reimported(graph: Graph, target: str, form: str, grad_output: object = None):  # noqa: ANN201
    text = export_text(graph, target, grad_output, "float64", form=form, retain_grad=False)
    ns, _ = run_text(text)
    if form == "module":
        return import_module(ns["GraphModule"](), ())
    names = list(inspect.signature(ns["forward"]).parameters)
    return import_function(ns["forward"], dict(zip(names, ns["example_inputs"](), strict=True)))


def assert_round_trip(graph: Graph, target: str, form: str) -> None:
    """Same value at the target; same gradient for every leaf that requires grad (matched by its
    variable name, which is the parameter's or argument's name, so the imported leaf's id)."""
    compiled = Compiled(graph, "cpu", "float64")
    expected = compiled.run(target)
    imported = reimported(graph, target, form)
    got = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    torch.testing.assert_close(got.values[imported.sink], expected.values[target], rtol=1e-12, atol=0)
    src = compiled.source
    for n in src.leaf_ids:
        if src.names[n] not in imported.graph.nodes:  # the import leaves out what the target does not read
            assert expected.grads[n] is None, n
        elif graph.nodes[n].requires_grad:
            assert imported.graph.nodes[src.names[n]].requires_grad, n
            g, want = got.grads[src.names[n]], expected.grads[n]
            assert (g is None) == (want is None), n
            if want is not None:
                torch.testing.assert_close(g, want, rtol=1e-12, atol=1e-15, msg=n)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(computable_graphs(), st.sampled_from(["module", "function"]))
def test_random_graphs_survive_export_and_import(drawn, form: str) -> None:  # noqa: ANN001
    assert_round_trip(drawn[0], "total", form)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([n for n in OP_NAMES if n not in IMPORT_GAPS]), st.integers(0, 2**16),
       st.sampled_from(["module", "function"]))
def test_every_catalogue_op_survives_export_and_import(name: str, seed: int, form: str) -> None:
    graph, _ = op_graph(name, seed)
    graph.add_node(Node("total", "sum"))
    graph.add_edge(Edge("op", "total", "input"))
    assert_round_trip(graph, "total", form)


def test_function_form_with_several_constants() -> None:
    """Each constant of a plain function is a leaf of its own (fx_import once gave them all one
    name, so the second read the first's value)."""
    graph = Graph()
    graph.add_node(Node("x", "tensor", value=[1.0, 2.0], dtype="float64", requires_grad=True))
    graph.add_node(Node("a", "tensor", value=[3.0, 4.0], dtype="float64"))
    graph.add_node(Node("b", "tensor", value=[5.0, 7.0], dtype="float64"))
    for op, inputs in (("m", ("x", "a")), ("p", ("m", "b"))):
        graph.add_node(Node(op, "mul"))
        graph.add_edge(Edge(inputs[0], op, "input"))
        graph.add_edge(Edge(inputs[1], op, "other"))
    graph.add_node(Node("total", "sum"))
    graph.add_edge(Edge("p", "total", "input"))
    assert_round_trip(graph, "total", "function")


# ---- the script prints what `gradcanvas grad --json` prints ----

_PRINTED = re.compile(r"^(\w+)\.grad = (.*)$")


def printed_grads(text: str) -> dict[str, torch.Tensor | None]:
    ns, out = run_text(text, as_main=True)
    grads = {}
    for line in out.splitlines():
        m = _PRINTED.match(line)
        if m:
            grads[m.group(1)] = None if m.group(2) == "None" else ns[m.group(1)].grad
    return grads


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(drawn=computable_graphs(), retain=st.booleans())
def test_script_prints_the_grads_of_grad_json(drawn, retain: bool, tmp_path_factory, capsys) -> None:  # noqa: ANN001
    graph = drawn[0]
    path = tmp_path_factory.mktemp("g") / "g.json"
    save(graph, str(path))
    capsys.readouterr()
    assert main(["grad", str(path), "--target", "total", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)["grads"]
    names = Compiled(graph).source.names
    grads = printed_grads(export_text(graph, "total", retain_grad=retain))
    shown = set(graph.nodes) if retain else {n for n in graph.nodes if graph.nodes[n].is_tensor}
    assert set(grads) == {names[n] for n in shown}
    for n in shown:
        want, got = expected[n], grads[names[n]]
        assert (got is None) == (want is None), n
        if want is not None:
            torch.testing.assert_close(got, torch.tensor(want, dtype=got.dtype), msg=n)


@pytest.mark.parametrize("form", ["function", "module"])
def test_a_standalone_forward_with_dropout_draws_the_apps_mask(form: str) -> None:
    """forward() seeds torch as the app's run does (Graph.seed), so run on its own, with no seed
    set by the caller, it gives the app's value."""
    graph = Graph()
    graph.seed = 7
    graph.add_node(Node("x", "tensor", init={"fn": "randn", "shape": [64], "seed": 1}, requires_grad=True,
                        dtype="float64"))
    graph.add_node(Node("d", "dropout", attrs={"p": 0.5, "training": True}))
    graph.add_node(Node("s", "sum"))
    graph.add_edge(Edge("x", "d", "input"))
    graph.add_edge(Edge("d", "s", "input"))
    expected = Compiled(graph).run("s").values["s"]
    ns, _ = run_text(export_text(graph, "s", form=form, retain_grad=False))
    torch.manual_seed(12345)  # whatever the caller's generator holds
    got = ns["GraphModule"]()() if form == "module" else ns["forward"](*ns["example_inputs"]())
    assert torch.equal(got, expected)


def test_groups_become_submodules_named_as_the_original_modules() -> None:
    """An imported model's groups (its module paths) export as submodules, so the exported
    module's parameters have the original's names and load its state."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.act, self.fc2 = nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(self.act(self.fc1(x))).sum()

    net = Net().double()
    imported = import_module(net, (torch.randn(2, 3, dtype=torch.float64),))
    assert set(imported.graph.groups) >= {"fc1", "fc2"}
    ns, _ = run_text(export_text(imported.graph, imported.sink, form="module", retain_grad=False))
    exported = ns["GraphModule"]()
    assert dict(exported.named_parameters()).keys() == dict(net.named_parameters()).keys()
    exported.load_state_dict(net.state_dict(), strict=False)
    for (name, a), b in zip(exported.named_parameters(), net.parameters(), strict=True):
        assert torch.equal(a, b), name
