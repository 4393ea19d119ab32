"""graph.groups' all-at-once answers (within_map, children_map, boundaries) against the
definitions written out here, one group at a time, on random graphs with nested groups."""

from __future__ import annotations

import pytest
from test_graph_edits import _random_dag, _random_groups

from graph import groups as model
from graph.model import Graph


def _nodes_within(g: Graph, group_id: str) -> list[str]:
    out = []
    for n in g.nodes:
        grp = g.group_of.get(n)
        while grp is not None and grp != group_id:
            grp = g.groups[grp].parent
        if grp == group_id:
            out.append(n)
    return out


def _boundary(g: Graph, group_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    inside = set(_nodes_within(g, group_id))
    inputs = [(e.dst, e.port) for e in g.edges if e.dst in inside and e.src not in inside]
    feeds = {e.src for e in g.edges if e.src in inside and e.dst not in inside}
    return inputs, [n for n in g.nodes if n in feeds]


@pytest.mark.parametrize("seed", range(12))
def test_all_at_once_answers_match_one_group_at_a_time(seed: int) -> None:
    g = _random_groups(_random_dag(seed, window=None if seed % 2 else 6), seed)
    assert g.groups
    within, kids = model.within_map(g), model.children_map(g)
    for grp in g.groups:
        assert within[grp] == _nodes_within(g, grp) and set(within[grp]) == model.nodes_within(g, grp)
        assert kids.get(grp, []) == [c for c, x in g.groups.items() if x.parent == grp]
    assert kids.get(None, []) == model.children(g, None)
    ports = model.boundaries(g, list(g.groups))
    for grp in g.groups:
        assert ports[grp] == _boundary(g, grp) == model.boundary(g, grp)
