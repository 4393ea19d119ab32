"""File format v2 (issue 11): v1 files migrate on load (same graph, same numbers), v2 saves are
byte-stable, groups / view / seed round trip, and hostile group data is refused in one line
naming the group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcanvas.cli import main
from graph import fileformat
from graph.errors import FileFormatError
from graph.fileformat import dumps, load, loads, save
from graph.groups import MAX_GROUP_DEPTH, Group

ROOT = Path(__file__).resolve().parent.parent
V1 = sorted((ROOT / "tests" / "fixtures" / "v1").glob("*.json"))
V2 = sorted((ROOT / "tests" / "fixtures" / "v2").glob("*.json"))
MLP = ROOT / "tests" / "fixtures" / "v2" / "04_small_mlp.json"


def _grads(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["grad", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


@pytest.mark.parametrize("path", V1, ids=lambda p: p.stem)
def test_a_v1_file_migrates_to_the_same_graph_and_numbers(path: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    old = load(path)
    assert (old.seed, old.groups, old.group_of, old.view) == (0, {}, {}, None)
    saved = tmp_path / path.name
    save(old, saved)
    raw = json.loads(saved.read_text(encoding="utf-8"))
    assert (raw["version"], raw["seed"], raw["groups"]) == (2, 0, [])
    new = load(saved)
    assert new == old and list(new.nodes.values()) == list(old.nodes.values()) and new.edges == old.edges
    assert _grads(saved, capsys) == _grads(path, capsys)


@pytest.mark.parametrize("path", V2, ids=lambda p: p.stem)
def test_a_v2_fixture_saves_byte_for_byte_as_it_is(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert dumps(loads(text)) == text


def _grouped() -> str:
    g = load(MLP)
    g.groups = {"model": Group("model", "the model"), "layer1": Group("layer1", "layer 1", "model", True),
                "act": Group("act", None, "model")}
    g.group_of = {"b1": "layer1", "W1": "layer1", "h_lin": "layer1", "h_pre": "layer1", "h": "act"}
    g.view, g.seed = (0.75, 120.5, -40.0), 1234
    return dumps(g)


def test_groups_view_and_seed_round_trip_byte_stable() -> None:
    text = _grouped()
    g = loads(text)
    assert g.seed == 1234 and g.view == (0.75, 120.5, -40.0)
    assert g.groups["layer1"] == Group("layer1", "layer 1", "model", True)
    assert g.group_of == {"W1": "layer1", "b1": "layer1", "h_lin": "layer1", "h_pre": "layer1", "h": "act"}
    assert dumps(g) == text
    raw = json.loads(text)
    # members are written in node order, whatever order they joined in
    assert raw["groups"][1] == {"id": "layer1", "label": "layer 1", "parent": "model", "collapsed": True,
                                "members": ["W1", "b1", "h_lin", "h_pre"]}


def _with(change) -> str:  # noqa: ANN001 - fn(doc dict) -> None
    doc = json.loads(_grouped())
    change(doc)
    return json.dumps(doc)


def _group(doc: dict, gid: str) -> dict:
    return next(g for g in doc["groups"] if g["id"] == gid)


def _deep(doc: dict) -> None:
    doc["groups"] += [{"id": f"d{i}", "parent": f"d{i - 1}" if i else None, "members": []}
                      for i in range(MAX_GROUP_DEPTH + 1)]


def _add(gid: str, node_id: str):  # noqa: ANN202
    return lambda d: _group(d, gid)["members"].append(node_id)


def _set(gid: str, **fields):  # noqa: ANN003, ANN202
    return lambda d: _group(d, gid).update(fields)


ACT = "group act: field"
REFUSED = [
    ("unknown_member", _add("act", "ghost"), f"{ACT} 'members': no node 'ghost'"),
    ("sibling_groups", _add("act", "W1"), f"{ACT} 'members': node W1 is already in group layer1"),
    ("listed_twice", _add("act", "h"), f"{ACT} 'members': node h is already in group act"),
    ("parent_cycle", _set("model", parent="layer1"), "field 'parent': the parents make a cycle"),
    ("own_parent", _set("act", parent="act"), f"{ACT} 'parent': the parents make a cycle (act → act)"),
    ("unknown_parent", _set("act", parent="nope"), f"{ACT} 'parent': no group 'nope'"),
    ("long_label", _set("act", label="x" * 5000), f"{ACT} 'label': label is longer than 1,000"),
    ("label_type", _set("act", label=7), f"{ACT} 'label'"),
    ("collapsed_type", _set("act", collapsed="yes"), f"{ACT} 'collapsed'"),
    ("members_type", _set("act", members="h"), f"{ACT} 'members' must be a list"),
    ("unknown_field", _set("act", color="red"), "group act: unknown field 'color'"),
    ("duplicate_id", lambda d: d["groups"].append({"id": "act", "members": []}), "group act: duplicate id"),
    ("bad_id", lambda d: d["groups"].append({"id": "a\x1bb", "members": []}), "group #3: field 'id'"),
    ("not_object", lambda d: d["groups"].append([1]), "group #3: must be an object"),
    ("groups_type", lambda d: d.update(groups={}), "field 'groups' must be a list"),
    ("too_deep", _deep, f"nested more than {MAX_GROUP_DEPTH} groups deep"),
    ("too_many", lambda d: d.update(groups=[{"id": f"g{i}", "members": []} for i in range(50_001)]), "at most 50,000"),
    ("bidi_id", _set("act", id="a\u202eb", members=["q"]), "group a\\u202eb: field 'members'"),
    ("seed_negative", lambda d: d.update(seed=-1), "field 'seed' must be an integer"),
    ("seed_float", lambda d: d.update(seed=1.5), "field 'seed'"),
    ("seed_bool", lambda d: d.update(seed=True), "field 'seed'"),
    ("seed_huge", lambda d: d.update(seed=2**63), "field 'seed'"),
    ("view_fields", lambda d: d.update(view={"zoom": 1}), "field 'view' must be"),
    ("view_zoom", lambda d: d.update(view={"zoom": "1", "center": [0, 0]}), "zoom must be a number"),
    ("view_center", lambda d: d.update(view={"zoom": 1, "center": [0, 1e400]}), "center must be"),
    ("v2_field_in_v1", lambda d: d.update(version=1), "'seed' is new in format version 2; this file says version 1"),
]


@pytest.mark.parametrize(("change", "needle"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_hostile_group_view_and_seed_data_is_refused_in_one_line(change, needle: str) -> None:  # noqa: ANN001
    with pytest.raises(FileFormatError) as e:
        loads(_with(change))
    message = e.value.message
    assert needle in message and "\n" not in message and message.isprintable(), message


def test_a_hostile_group_file_is_one_line_on_the_command_line(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.json"
    path.write_text(_with(_add("act", "W1")), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "group act" in err and "Traceback" not in err


def test_a_newer_version_names_both_and_says_update() -> None:
    with pytest.raises(FileFormatError) as e:
        loads(_with(lambda d: d.update(version=3)))
    assert e.value.message == ("this file is format version 3; this GradCanvas reads version 1 up to "
                               f"version {fileformat.VERSION}: update GradCanvas")


def test_removing_a_node_leaves_its_group_and_restoring_gives_it_back() -> None:
    g = loads(_grouped())
    info = g.remove_node("b1")
    assert "b1" not in g.group_of and "layer1" in g.groups
    assert json.loads(dumps(g))["groups"][1]["members"] == ["W1", "h_lin", "h_pre"]
    g.restore_node(info)
    assert dumps(g) == _grouped()


def test_copy_keeps_the_groups_of_the_copied_nodes_and_paste_renames_clashing_ones() -> None:
    from graph.edits import copy_text, plan_paste

    g = loads(_grouped())
    text = copy_text(g, ["W1", "h"])
    part = loads(text)
    assert part.group_of == {"W1": "layer1", "h": "act"} and list(part.groups) == ["model", "layer1", "act"]
    plan = plan_paste(g, text)
    ids = {node.id for node, _pos in plan.nodes}
    assert {grp.id for grp in plan.groups} == {"model_2", "layer1_2", "act_2"}
    assert plan.group_of == {"W1_2": "layer1_2", "h_2": "act_2"} and set(plan.group_of) <= ids
    assert {grp.id: grp.parent for grp in plan.groups}["layer1_2"] == "model_2"


def test_seed_is_carried_into_the_checked_graph() -> None:
    g = loads(_with(lambda d: d.update(seed=99)))
    assert g.seed == 99 and g.copy().seed == 99 and g.snapshot().seed == 99 and g.validate().seed == 99
