"""Bring your own model, as a reviewer tried it: realistic modules imported (`gradcanvas import`,
fx_import) and exported as an nn.Module that loads the original's state_dict by its names.
Each test is one bug found that way: names shared by an argument and the state, keys that are
not identifiers, torch's global grad mode, helper modules cached between imports, optional
arguments, modules called on shape-made tensors, training-mode batch norm in a recorded run,
torch.no_grad() in the code, --input by name, nn.Sequential subclasses, and one-line messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_export_forms import run_text
from torch import nn

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_text
from autograd_bridge.fx_import import import_module
from autograd_bridge.fx_script import ImportRefused, import_script, list_definitions
from graph.groups import Group
from graph.model import Edge, Graph, Node

pytestmark = pytest.mark.usefixtures("float64_models")


def _exported(model: nn.Module, example: tuple) -> nn.Module:
    """The model imported, exported as a module (float64), built, and loaded with a perturbed copy
    of the original's state_dict by name (strict=False, as the README says); the original perturbed
    the same way."""
    imported = import_module(model, example)
    text = export_text(imported.graph, imported.sink, None, "float64", form="module", retain_grad=False)
    exported = run_text(text)[0]["GraphModule"]()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    result = exported.load_state_dict(model.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert not set(result.missing_keys) & set(model.state_dict())
    return exported


def _same_loss_and_grads(model: nn.Module, example: tuple, exported: nn.Module) -> None:
    model.zero_grad()
    loss = model(*example)
    loss.backward()
    got = exported()
    got.backward()
    torch.testing.assert_close(got, loss, rtol=1e-9, atol=0)
    params = dict(exported.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(params[name].grad, p.grad, rtol=1e-9, atol=1e-12, msg=name)


# ---- 1, 2: the exported module's state keeps the original's names ----

class SameNames(nn.Module):
    """forward's arguments are named like a parameter (x) and a submodule (fc)."""

    def __init__(self) -> None:
        super().__init__()
        self.x = nn.Parameter(torch.randn(3))
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
        return (self.fc(self.x * x) * fc).pow(2).sum()


def test_state_named_like_an_argument_keeps_its_name_and_the_argument_is_renamed() -> None:
    model, example = SameNames(), (torch.randn(3), torch.randn(2))
    graph = import_module(model, example).graph
    assert graph.nodes["x"].requires_grad  # the parameter, not the input
    _same_loss_and_grads(model, example, _exported(model, example))


class Heads(nn.Module):
    """ModuleDict and ParameterDict keys that are not Python identifiers (torch takes any name
    without a '.')."""

    def __init__(self) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({"task-a": nn.Linear(3, 1), "2nd": nn.Linear(3, 1), "head b": nn.Linear(3, 1),
                                    'q"\\': nn.Linear(3, 1)})
        self.scales = nn.ParameterDict({"p-1": nn.Parameter(torch.randn(1))})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(h(x) for h in self.heads.values()).mul(self.scales["p-1"]).pow(2).sum()


def test_state_keys_that_are_not_identifiers_are_kept_exactly() -> None:
    model, example = Heads(), (torch.randn(2, 3),)
    exported = _exported(model, example)
    assert set(dict(exported.named_parameters())) == set(dict(model.named_parameters()))
    _same_loss_and_grads(model, example, exported)


def test_a_leaf_named_intermediates_keeps_its_name_in_a_module_that_runs() -> None:
    g = Graph()
    g.add_node(Node("intermediates", "tensor", value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("m", "mul", attrs={}))
    g.add_edge(Edge("intermediates", "m", "input"))
    g.add_edge(Edge("intermediates", "m", "other"))
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge("m", "y", "input"))
    ns, printed = run_text(export_text(g, "y", form="module"), as_main=True)
    assert "y = tensor(5." in printed and "m.grad" in printed
    assert [name for name, _ in ns["model"].named_parameters()] == ["intermediates"]  # the state keeps its name


class _Intermediates(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.intermediates = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.intermediates(x).pow(2).sum()


def test_a_submodule_named_intermediates_keeps_its_name_with_intermediates_kept() -> None:
    imported = import_module(_Intermediates(), (torch.randn(2, 3),))
    text = export_text(imported.graph, imported.sink, None, "float64", form="module", retain_grad=True)
    ns, printed = run_text(text, as_main=True)
    assert {name for name, _ in ns["model"].named_parameters()} == {"intermediates.weight", "intermediates.bias"}
    assert "pow_1.grad = tensor" in printed


# ---- 3, 4: an import leaves torch's global state, and the next import, as they were ----

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_a_script_that_turns_autograd_off_imports_and_leaves_grad_mode_as_it_was(tmp_path: Path) -> None:
    script = _write(tmp_path / "infer.py", """
        import torch
        torch.set_grad_enabled(False)  # an inference script's first line

        def f(x=torch.ones(2)):
            return (x * 3).sum()
    """)
    assert import_script(str(script), function="f").graph.nodes["x"].requires_grad
    assert torch.is_grad_enabled()
    with torch.no_grad():
        import_script(str(script), function="f")
        assert not torch.is_grad_enabled()


def test_computes_do_not_depend_on_the_ambient_grad_mode(examples_dir: Path) -> None:
    import gradcanvas
    from autograd_bridge.compute import ComputeSession
    from graph.fileformat import load

    path = examples_dir / "01_scalar_partial.json"
    with torch.no_grad():
        assert gradcanvas.grad(str(path), "y").grads["x"] is not None
        result = ComputeSession().compute(load(str(path)), "y", 1)
        assert result.nodes["x"].grad is not None


def test_each_import_sees_its_helper_modules_as_they_are_on_disk(tmp_path: Path) -> None:
    import sys

    model = "import torch\nfrom layers import scale\n\ndef f(x=torch.ones(2)):\n    return scale(x).sum()\n"
    path_before = list(sys.path)

    def value(folder: str) -> float:
        imported = import_script(str(tmp_path / folder / "model.py"), function="f")
        return Compiled(imported.graph.validate()).forward()[imported.sink].item()

    for folder, factor in (("a", 2), ("b", 3)):
        _write(tmp_path / folder / "model.py", model)
        _write(tmp_path / folder / "layers.py", f"def scale(x):\n    return x * {factor}\n")
    assert (value("a"), value("b")) == (4.0, 6.0)  # b's own layers.py, not a's
    _write(tmp_path / "a" / "layers.py", "def scale(x):\n    return x * 50\n")
    assert value("a") == 100.0  # edited: the file as it is now
    assert sys.path == path_before and "layers" not in sys.modules


# ---- 5, 6, 10: how the example reaches forward ----

class OptionalTargets(nn.Module):
    """nanoGPT's signature: targets are optional."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.head(x)
        if targets is None:
            return logits.logsumexp(-1).sum()
        return F.cross_entropy(logits, targets)


def test_an_argument_left_out_takes_its_default() -> None:
    import gradcanvas

    model, x = OptionalTargets(), torch.randn(3, 4)
    imported = import_module(model, (x,))
    assert "targets" not in imported.graph.nodes
    torch.testing.assert_close(Compiled(imported.graph.validate()).forward()[imported.sink], model(x))
    assert "head.weight" in gradcanvas.from_function(model, x=x).nodes


class PosEmb(nn.Module):
    """nanoGPT's position embedding: a module called on torch.arange of a size."""

    def __init__(self) -> None:
        super().__init__()
        self.wpe = nn.Embedding(4, 3)
        self.lin = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(x.shape[1])
        return (x + self.wpe(pos) + self.lin(torch.ones(3))).pow(2).sum()


def test_a_module_with_parameters_called_on_a_constant_is_part_of_the_graph() -> None:
    model, example = PosEmb(), (torch.randn(2, 4, 3),)
    assert {"wpe.weight", "lin.weight"} <= set(import_module(model, example).graph.nodes)
    _same_loss_and_grads(model, example, _exported(model, example))


def test_input_is_given_by_name_and_the_others_take_their_defaults(tmp_path: Path) -> None:
    script = _write(tmp_path / "cell.py", """
        import torch
        from torch import nn

        class Cell(nn.Module):
            def __init__(self):
                super().__init__()
                self.ih, self.hh = nn.Linear(3, 4), nn.Linear(4, 4)

            def forward(self, x=torch.ones(2, 3), h=torch.zeros(2, 4)):
                return torch.tanh(self.ih(x) + self.hh(h)).sum()
    """)
    nodes = import_script(str(script), module="Cell", inputs=["h=2,4"]).graph.nodes
    assert nodes["x"].value == [[1.0] * 3] * 2
    assert len(nodes["h"].value) == 2 and len(nodes["h"].value[0]) == 4 and nodes["h"].value != [[0.0] * 4] * 2


# ---- 7, 9: what a recorded run and torch.no_grad() mean ----

class BNBranch(nn.Module):
    """A training-mode BatchNorm, and an `if` on a tensor value (so the import records a real run)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn(x)
        if h.sum() > -100:
            h = h * 2
        return h.pow(3).sum()


def test_training_batch_norm_in_a_recorded_run_imports_and_leaves_its_buffers() -> None:
    model = BNBranch()
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    imported = import_module(model, (torch.randn(4, 3),))
    assert imported.specialised and "bn.weight" in imported.graph.nodes
    for k, v in model.state_dict().items():
        assert torch.equal(v, kept[k]), k


class StopGrad(nn.Module):
    """A target computed without gradient (BYOL / DQN style)."""

    def __init__(self, branch: bool = False) -> None:
        super().__init__()
        self.online = nn.Linear(3, 3)
        self.branch = branch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.branch and x.sum() > -100:  # a read of a value: the import records a real run
            x = x * 1
        with torch.no_grad():
            target = self.online(x * 2)
        return (self.online(x) - target).pow(2).mean()


@pytest.mark.parametrize("branch", [False, True])
def test_a_no_grad_block_is_a_constant_as_detach_makes_it(branch: bool) -> None:
    model, example = StopGrad(branch), (torch.randn(2, 3),)
    imported = import_module(model, example)
    assert any("torch.no_grad()" in note for note in imported.notes)
    # A constant holds the value at the import, as detach() does: compared on the same parameters.
    result = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    loss = model(*example)
    loss.backward()
    torch.testing.assert_close(result.values[imported.sink], loss, rtol=1e-9, atol=0)
    torch.testing.assert_close(result.grads["online.weight"], model.online.weight.grad, rtol=1e-9, atol=1e-12)


def test_a_function_run_under_no_grad_is_refused_in_one_line_naming_it(tmp_path: Path) -> None:
    script = _write(tmp_path / "ev.py", """
        import torch

        @torch.no_grad()
        def evaluate(x=torch.ones(3)):
            return (x * 2).sum()
    """)
    with pytest.raises(ImportRefused) as refused:
        import_script(str(script), function="evaluate")
    message = str(refused.value)
    assert "no_grad" in message and "please report" not in message and "\n" not in message


# ---- 11, 12: listing and messages ----

def test_containers_and_torch_layers_count_as_module_classes(tmp_path: Path) -> None:
    script = _write(tmp_path / "seq.py", """
        import torch
        from torch import nn

        class Net(nn.Sequential):
            def __init__(self):
                super().__init__(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

        class Blocks(torch.nn.ModuleList):
            pass

        class Heads(nn.ModuleDict):
            pass

        class Mine(nn.Linear):
            pass

        class Deeper(Net):
            pass

        class Plain:
            pass

        def example_inputs():
            return torch.randn(2, 3)
    """)
    assert list_definitions(str(script))[:3] == ([], ["Net", "Blocks", "Heads", "Mine", "Deeper"], [])
    assert "0.weight" in import_script(str(script), module="Net").graph.nodes


class IntIdx(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.e = nn.Embedding(5, 3)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.e(idx).pow(2).sum()


def test_int32_indices_are_taken_as_int64_with_a_note() -> None:
    model, idx = IntIdx(), torch.tensor([[0, 3], [4, 1]], dtype=torch.int32)
    imported = import_module(model, (idx,))
    assert imported.graph.nodes["idx"].dtype == "int64"
    assert any(note.startswith("idx: an int32 tensor") for note in imported.notes)


def test_a_half_tensor_is_refused_naming_the_argument() -> None:
    with pytest.raises(ImportRefused, match=r"^the argument idx: a float16 tensor: graphs hold"):
        import_module(IntIdx(), (torch.zeros(2, dtype=torch.float16),))


@pytest.mark.parametrize("returned", ["[torch.randn(2, 3), torch.randn(2, 2)]",
                                      "{'x': torch.randn(2, 3), 'y': [torch.randn(2, 2)]}"])
def test_a_list_where_a_tensor_is_expected_is_one_line_naming_the_argument(tmp_path: Path, returned: str,
                                                                            recwarn: pytest.WarningsRecorder) -> None:
    script = _write(tmp_path / "two.py", f"""
        import torch
        from torch import nn

        class Two(nn.Module):
            def __init__(self):
                super().__init__()
                self.l = nn.Linear(3, 2)

            def forward(self, x, y=None):
                out = self.l(x)
                return (out if y is None else out - y).pow(2).sum()

        def example_inputs():
            return {returned}
    """)
    with pytest.raises(ImportRefused, match=r"^Two.forward's argument [xy]: a list"):
        import_script(str(script), module="Two")
    assert not [w for w in recwarn if "torch" in str(w.filename)]


def test_a_dict_from_example_inputs_gives_the_arguments_by_name(tmp_path: Path) -> None:
    script = _write(tmp_path / "two.py", """
        import torch
        from torch import nn

        class Two(nn.Module):
            def forward(self, x, y=None):
                return (x if y is None else x - y).pow(2).sum()

        def example_inputs():
            return {"y": torch.ones(2), "x": torch.zeros(2)}
    """)
    nodes = import_script(str(script), module="Two").graph.nodes
    assert nodes["x"].value == [0.0, 0.0] and nodes["y"].value == [1.0, 1.0]


def test_keyword_catch_alls_need_no_input(tmp_path: Path) -> None:
    script = _write(tmp_path / "kw.py", """
        import torch

        def f(x=torch.ones(2), *args, **kw):
            return (x * 2).sum()
    """)
    assert "x" in import_script(str(script), function="f").graph.nodes


# ---- "please report it" only where the import is at fault ----

class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return torch.round(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # noqa: ANN001 - straight through
        return g


class _Quirk(nn.Module):
    def __init__(self, quirk: str) -> None:
        super().__init__()
        self.lin, self.quirk, self.calls = nn.Linear(3, 3), quirk, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import random

        h = self.lin(x)
        if self.quirk == "function":
            h = _RoundSTE.apply(h)
        elif self.quirk == "hook" and h.requires_grad:
            h.register_hook(lambda g: g * 0)
        elif self.quirk == "random":
            h = h * random.random()
        elif self.quirk == "state":
            self.calls += 1
            h = h * self.calls
        return h.pow(2).sum()


@pytest.mark.parametrize(("quirk", "message"), [
    ("function", r"comes from the custom autograd.Function _RoundSTE, not from its ops"),
    ("hook", r"line \d+ \(h.register_hook\(lambda g: g \* 0\)\): a hook on a tensor's gradient is not supported"),
    ("random", r"different values on two calls with the same inputs"),
    ("state", r"different values on two calls with the same inputs")])
def test_code_a_graph_cannot_follow_is_refused_without_blaming_the_import(quirk: str, message: str) -> None:
    with pytest.raises(ImportRefused, match=message) as refused:
        import_module(_Quirk(quirk), (torch.randn(2, 3),))
    assert "please report" not in str(refused.value)


@pytest.mark.parametrize(("leaf", "group"), [("__x", None), ("__enc.__w", "__enc"), ("enc.__w", "enc"),
                                             ("w", "__enc")])
def test_state_names_with_two_leading_underscores_are_not_mangled(leaf: str, group: str | None) -> None:
    # Inside `class GraphModule`, `self.__w` compiles to `self._GraphModule__w`: such parts must
    # go through get_parameter / get_submodule, or the module raises AttributeError when run.
    g = Graph()
    g.add_node(Node(leaf, "tensor", value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge(leaf, "y", "input"))
    if group is not None:
        g.groups = {group: Group(group)}
        g.group_of = {leaf: group}
    ns, printed = run_text(export_text(g, "y", form="module"), as_main=True)
    names = [name for name, _ in ns["model"].named_parameters()]
    assert len(names) == 1 and "__" in names[0]
    assert "grad = tensor([1., 1.]" in printed


# ---- a second review: the whole import is the script's scope, not only its top level ----

@pytest.mark.parametrize("where", ["__init__", "example_inputs"])
def test_grad_mode_turned_off_in_init_or_example_inputs_is_put_back(tmp_path: Path, where: str) -> None:
    # Only the top level ran with the mode kept: Net() turning autograd off left it off in the
    # compute process, and Step, Backward again and the Hessian of every later graph were wrong.
    off = "        torch.set_grad_enabled(False)\n"
    script = _write(tmp_path / "net.py", f"""
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
{off if where == "__init__" else ""}        self.lin = nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x).sum()

def example_inputs():
{off if where == "example_inputs" else ""}        return torch.ones(2, 3)
""")
    imported = import_script(str(script), module="Net")
    assert torch.is_grad_enabled()
    assert imported.graph.nodes["lin.weight"].requires_grad


def test_a_neighbour_module_imported_again_inside_forward_is_found(tmp_path: Path) -> None:
    import sys

    _write(tmp_path / "config.py", "SCALE = 2.0\n")
    script = _write(tmp_path / "model.py", """
import torch
from torch import nn
import config

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        import config as c
        self.scale = c.SCALE

    def forward(self, x):
        import config as c
        return (x * c.SCALE * self.scale).sum()

def example_inputs():
    return torch.ones(2, 3)
""")
    path_before = list(sys.path)
    imported = import_script(str(script), module="Net")
    assert Compiled(imported.graph.validate()).forward()[imported.sink].item() == 24.0  # 6 ones × 2 × 2
    assert sys.path == path_before and "config" not in sys.modules  # forgotten once the import is done


def test_a_job_that_turns_autograd_off_leaves_it_on_for_the_next() -> None:
    from autograd_bridge.jobs import run_job

    def turns_it_off(session: object, cancel: object) -> str:
        torch.set_grad_enabled(False)  # user code run by a job (an import, a script)
        return "done"

    assert run_job(None, "task", turns_it_off, (), None) == "done"
    assert torch.is_grad_enabled()
