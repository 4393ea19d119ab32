"""Real models (tests/test_fx_import.py) imported, exported as an nn.Module, and the module built
from the exported text: it loads the original's parameters by name and gives the original's
loss and gradients (float64, 1e-9 relative). Also: groups become submodules, and the export's
options are refused in one line when they are not ones it writes."""

from __future__ import annotations

import pytest
import torch
from test_export_forms import run_text
from test_fx_import import MLP, BlockLoss, SmallCNN

from autograd_bridge.engine import Compiled
from autograd_bridge.export import ExportError, export_text, state_names
from autograd_bridge.fx_import import import_module
from graph.model import Edge, Graph, Node

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


def _cnn() -> tuple[torch.nn.Module, tuple]:
    model = SmallCNN()
    model.bn1.running_mean.uniform_(-0.5, 0.5)
    model.bn1.running_var.uniform_(0.5, 2.0)
    return model.eval(), (torch.randn(3, 2, 8, 8), torch.softmax(torch.randn(3, 5), dim=1))


MODELS = {
    "small_cnn": _cnn,
    "transformer_block": lambda: (BlockLoss(), (torch.randn(2, 5, 8), torch.randn(2, 5, 8))),
    "mlp_dropout_eval": lambda: (MLP().eval(), (torch.randn(4, 6), torch.randn(4, 3))),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_real_model_exported_as_a_module_loads_its_state_and_gives_its_gradients(name: str) -> None:
    model, example = MODELS[name]()
    imported = import_module(model, example)
    graph = imported.graph
    text = export_text(graph, imported.sink, None, "float64", form="module", retain_grad=False)
    exported = run_text(text)[0]["GraphModule"]()
    # The original's parameters, by name, into the exported module (whose own values are the same
    # numbers: zero them first, so the test sees the load).
    paths = state_names(graph, Compiled(graph, "cpu", "float64").source)
    key = {p: ".".join(paths[p]) for p, _ in model.named_parameters()}
    assert set(key.values()) == {k for k, _ in exported.named_parameters()}
    with torch.no_grad():
        for p in exported.parameters():
            p.zero_()
    result = exported.load_state_dict({key[p]: t for p, t in model.named_parameters()}, strict=False)
    assert not result.unexpected_keys and not set(result.missing_keys) & set(key.values())

    model.zero_grad()
    loss = model(*example)
    loss.backward()
    got = exported()
    got.backward()
    torch.testing.assert_close(got, loss, rtol=1e-9, atol=0)
    params = dict(exported.named_parameters())
    for p, t in model.named_parameters():
        scale = float(t.grad.abs().max())
        torch.testing.assert_close(params[key[p]].grad, t.grad, rtol=1e-9, atol=1e-9 * scale, msg=p)


def _small() -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], dtype="float64", requires_grad=True))
    g.add_node(Node("training", "tensor", value=[3.0, 4.0], dtype="float64", requires_grad=True))
    g.add_node(Node("m", "mul"))
    g.add_edge(Edge("x", "m", "input"))
    g.add_edge(Edge("training", "m", "other"))
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge("m", "y", "input"))
    return g


def test_a_leaf_named_like_a_module_attribute_gets_a_name_of_its_own() -> None:
    text = export_text(_small(), "y", form="module")
    module = run_text(text)[0]["GraphModule"]()
    assert sorted(k for k, _ in module.named_parameters()) == ["training_", "x"]
    assert module.training is True  # still nn.Module's flag, not the leaf


def test_retain_grad_prints_intermediates_in_every_form() -> None:
    for form in ("script", "function", "module"):
        kept = run_text(export_text(_small(), "y", form=form, retain_grad=True), as_main=True)[1]
        plain = run_text(export_text(_small(), "y", form=form, retain_grad=False), as_main=True)[1]
        assert "m.grad = tensor([1., 1.]" in kept and "m.grad" not in plain, form
        assert "x.grad = tensor([3., 4.]" in kept and "x.grad = tensor([3., 4.]" in plain, form


@pytest.mark.parametrize(("options", "message"), [
    ({"form": "class"}, "export: form 'class' is not one of script, function, module"),
    ({"device": "cuda; import os"}, "export: device 'cuda; import os' is not one of cpu, cuda, cuda:N, mps"),
    # torch.device refuses a leading zero ("Invalid device string"): the script could never run
    ({"device": "cuda:01"}, "export: device 'cuda:01' is not one of cpu, cuda, cuda:N, mps"),
    ({"device": "cuda:00"}, "export: device 'cuda:00' is not one of cpu, cuda, cuda:N, mps"),
])
def test_bad_options_are_refused_in_one_line(options: dict, message: str) -> None:
    with pytest.raises(ExportError) as e:
        export_text(_small(), "y", **options)
    assert str(e.value) == message


def test_device_is_written_as_asked() -> None:
    assert 'device = "cuda:1"' in export_text(_small(), "y", device="cuda:1", form="function")
    for device in ("cuda:0", "cuda:10"):  # what torch.device takes, written as it is
        torch.device(device)
        assert f'device = "{device}"' in export_text(_small(), "y", device=device, form="function")


def test_cli_export_forms(tmp_path, capsys) -> None:  # noqa: ANN001
    from pathlib import Path

    from gradcanvas.cli import main
    from graph.fileformat import load

    example = Path(__file__).resolve().parent.parent / "resources" / "examples" / "04_small_mlp.json"
    for form in ("function", "module"):
        out = tmp_path / f"{form}.py"
        assert main(["export", str(example), "--form", form, "--no-retain-grad", "--device", "cpu",
                     "-o", str(out)]) == 0
        graph = load(str(example))
        assert out.read_text() == export_text(graph, "loss", form=form, retain_grad=False)
    assert main(["export", str(example), "--form", "module", "-o", str(tmp_path / "m.ipynb")]) != 0
    assert "a notebook holds the script form" in capsys.readouterr().err


def test_the_export_command_names_submodules_after_the_groups_too(tmp_path) -> None:  # noqa: ANN001
    """`gradcanvas export --form module` exports the checked graph the command validated: it
    too carries the groups, so the parameters keep the original module's names."""
    from gradcanvas.cli import main as cli_main
    from graph.fileformat import save

    model, example = _cnn()
    imported = import_module(model, example)
    path, out = tmp_path / "cnn.json", tmp_path / "cnn.py"
    save(imported.graph, str(path))
    assert cli_main(["export", str(path), "--form", "module", "--dtype", "float64", "-o", str(out)]) == 0
    exported = run_text(out.read_text())[0]["GraphModule"]()
    assert {k for k, _ in exported.named_parameters()} == {k for k, _ in model.named_parameters()}
