"""Import puts every node in the group of the nn.Module it was made in, nested as the module tree
(issue 11: `layer1.0.conv1`), by symbolic tracing and by the recorded run alike; the CLI writes
the groups, and they load back."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - as people write it
from torch import nn

from autograd_bridge.fx_import import import_module
from gradcanvas.cli import main
from graph import groups as model
from graph.fileformat import load


class Block(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))


class NestedCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(Block(2, 4), Block(4, 4))
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.layer1(x))
        return F.cross_entropy(self.fc(torch.flatten(h, 1)), target)


MODULES = {"layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1", "layer1.1", "layer1.1.conv1", "layer1.1.bn1",
           "pool", "fc"}


def _example() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 2, 4, 4, generator=g), torch.tensor([0, 2])


def _check_groups(graph) -> None:  # noqa: ANN001
    assert set(graph.groups) == MODULES  # one group per module that made a node
    assert {g: grp.parent for g, grp in graph.groups.items()} == {
        "layer1": None, "layer1.0": "layer1", "layer1.1": "layer1", "layer1.0.conv1": "layer1.0",
        "layer1.0.bn1": "layer1.0", "layer1.1.conv1": "layer1.1", "layer1.1.bn1": "layer1.1", "pool": None, "fc": None}
    model.check_groups(graph)
    # every parameter and buffer (named by its qualified name) is in its module's group
    params = [n for n, node in graph.nodes.items() if node.is_tensor and "." in n]
    assert len(params) == 2 * (2 + 4) + 2  # conv weight, bias; batch norm stats, weight, bias; fc
    for n in params:
        assert graph.group_of[n] == n.rpartition(".")[0], n
    conv_ops = [n for n, node in graph.nodes.items() if node.op == "conv2d"]
    assert sorted(graph.group_of[n] for n in conv_ops) == ["layer1.0.conv1", "layer1.1.conv1"]
    assert "x" in graph.nodes and "x" not in graph.group_of  # the inputs: top level
    fc = [n for n, g in graph.group_of.items() if g == "fc"]
    assert {graph.nodes[n].op for n in fc} >= {"linear"}


def test_an_imported_cnn_has_one_group_per_module_nested_as_the_module_tree() -> None:
    imported = import_module(NestedCNN().eval(), _example())
    assert not imported.specialised
    _check_groups(imported.graph)
    relu = [n for n, node in imported.graph.nodes.items() if node.op == "relu"]
    assert sorted(imported.graph.group_of[n] for n in relu) == ["layer1.0", "layer1.1"]  # Block.forward's own call


class Branchy(NestedCNN):
    """Control flow on a tensor value: symbolic tracing stops, one real run is recorded."""

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.layer1(x))
        if h.sum() > -1e9:
            h = h * 1.0
        return F.cross_entropy(self.fc(torch.flatten(h, 1)), target)


def test_the_recorded_run_groups_by_module_too() -> None:
    imported = import_module(Branchy().eval(), _example())
    assert imported.specialised
    _check_groups(imported.graph)


SCRIPT = '''
import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv1(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(Block())
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.layer1(x), 1)).sum()


def example_inputs():
    return (torch.ones(1, 2, 4, 4),)
'''


def test_the_import_command_writes_the_groups(tmp_path: Path) -> None:
    script, out = tmp_path / "net.py", tmp_path / "net.json"
    script.write_text(SCRIPT, encoding="utf-8")
    assert main(["import", str(script), "--module", "Net", "-o", str(out)]) == 0
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert {g["id"] for g in raw["groups"]} == {"layer1", "layer1.0", "layer1.0.conv1", "fc"}
    graph = load(out)
    assert graph.group_of["layer1.0.conv1.weight"] == "layer1.0.conv1"
    assert graph.groups["layer1.0.conv1"].parent == "layer1.0" and not graph.groups["layer1"].collapsed


def test_file_import_python_brings_the_groups_in_one_undo_step_twice_side_by_side(window) -> None:  # noqa: ANN001
    """File > Import Python… pastes the imported graph (gui.import_dialog): its groups come along,
    expanded, renamed where an earlier import holds the same module paths."""
    from graph.fileformat import dumps

    doc = window.doc
    text = dumps(import_module(NestedCNN().eval(), _example()).graph)
    first = doc.paste(text)
    second = doc.paste(text)
    assert doc.undo_stack.count() == 2
    assert set(doc.graph.groups) == MODULES | {f"{g}_2" for g in MODULES}
    assert {doc.graph.group_of[n] for n in first if n in doc.graph.group_of} == MODULES - {"layer1"}  # no own node
    assert doc.graph.groups["layer1.0_2"].parent == "layer1_2"
    assert all(doc.graph.group_of[n].endswith("_2") for n in second if n in doc.graph.group_of)
    assert not any(g.collapsed for g in doc.graph.groups.values())
    doc.undo_stack.undo()
    assert set(doc.graph.groups) == MODULES
