"""Auto-layout without Qt (Edit > Auto-layout, and imported models): columns by topological
generations, wires kept off nodes, group frames kept off other nodes. Node boxes are
graph.edits's, as the canvas draws them.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable

from graph.edits import (
    GRID,
    NODE_W,
    PORT_R,
    POS_LIMIT,
    frame_around,
    input_port_y,
    node_height,
    output_port_y,
    usable_pos,
)
from graph.groups import ancestors, children_map, within_map
from graph.model import Graph

WRAP_MIN_GENERATIONS = 30  # auto-layout wraps a longer chain of generations into bands
# ... and a shorter one, from this many, where one row would be a strip this many times wider
# than tall (an imported MLP or CNN: fitted to a window, its nodes were specks in a thin line)
STRIP_MIN_GENERATIONS = 8
STRIP_ASPECT = 8.0
COLUMN_GAP = 150.0  # auto-layout: free space between columns (the node is NODE_W wide)
ROW_GAP = 50.0  # auto-layout: free space between nodes stacked in a column
FREE_GAP = 30.0  # free_top: an added node is this far from any other
WIRE_CLEARANCE = 12.0  # auto-layout: how far a straight wire passes from a third node
SEPARATE_MAX_GROWTH = 8.0  # auto-layout: moving frames apart may make a layout this much taller, no more,
SEPARATE_ALWAYS = 1e5  # ... though always this tall (deep nesting in a small graph takes room)
MAX_WIRE_CHECKS = 300_000  # auto-layout: beyond this many (wire, skipped node) pairs, plain stacking


def layered_positions(graph: Graph, spacing: tuple[float, float] = GRID,
                      notes: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Columns by networkx topological generations, spaced so that wires stay off nodes. Empty
    for a graph with a cycle (it has no generations).

    - A leaf sits in the column just before its first consumer (not always in the first one),
      so that weights and targets stand next to where they are used.
    - Columns are NODE_W + COLUMN_GAP apart (at least spacing[0]); in a column the nodes are
      stacked by their heights with ROW_GAP between them (a row pitch of at least spacing[1]),
      each one level with its inputs where there is room.
    - A wire that skips columns must not run through a node there: the columns are placed left
      to right, and a node fed by such a wire takes the free place nearest the one it wants
      where every straight line from its inputs passes WIRE_CLEARANCE away from the nodes
      already placed between them (nodes never move once placed, so this holds at the end,
      except as below). A node that would have to go further than five columns' height for
      it gives that up: only its own column's nodes keep it from overlapping.
    - A long chain of generations (a 2,000-op chain is 2,000 columns) is wrapped into bands,
      one below the other, so the layout stays roughly square; a band's last leaves go into
      the next band with their consumers, and cuts fall where the fewest groups span.
    - With groups, each column keeps the members of a group together, and then the groups are
      moved apart (_separate_groups) so that no frame covers a node outside it or a sibling's
      frame. That moves nodes after their wires were placed: a wire may then cross a node.
      Where that would make the layout more than SEPARATE_MAX_GROWTH times taller, the groups
      stay put and `notes` (if given) says so.
    """
    import networkx as nx  # here: ~150 ms of import, and the window needs it only to lay out

    g = graph.to_networkx()
    if not nx.is_directed_acyclic_graph(g):
        return {}
    layer = {n: i for i, gen in enumerate(nx.topological_generations(g)) for n in gen}
    if not layer:
        return {}
    fed_leaves = {n for n in graph.nodes if graph.nodes[n].is_tensor and graph.consumers_of(n)}
    for n in fed_leaves:  # leaves move right, next to their first consumer
        layer[n] = min(layer[c] for c in graph.consumers_of(n)) - 1
    if graph.groups:
        layer = _leaves_apart(graph, layer, fed_leaves)
    used = sorted(set(layer.values()))  # a generation of leaves only may have emptied
    index = {v: i for i, v in enumerate(used)}
    layer = {n: index[v] for n, v in layer.items()}
    heights = {n: node_height(graph, n) for n in graph.nodes}
    columns: list[list[str]] = [[] for _ in used]
    for n in graph.nodes:
        columns[layer[n]].append(n)
    pitch = max(spacing[0], NODE_W + COLUMN_GAP)
    row = max(ROW_GAP, spacing[1] - max(heights.values()))  # spacing[1] is a smallest row pitch
    column_h = [sum(heights[n] + row for n in col) for col in columns]
    band_h = max(column_h) + row  # a free row between bands
    per_band = len(columns)
    wide = len(columns) * pitch / band_h  # how many times wider than tall in one row
    strip = len(columns) > STRIP_MIN_GENERATIONS and wide > STRIP_ASPECT
    if strip or (len(columns) > WRAP_MIN_GENERATIONS and wide > 4):
        least = (STRIP_MIN_GENERATIONS if strip else WRAP_MIN_GENERATIONS) // 2
        per_band = max(least, math.ceil(math.sqrt(len(columns) * band_h / pitch)))
    pos: dict[str, tuple[float, float]] = {}
    top = 0.0
    cuts = _band_cuts(graph, layer, fed_leaves, len(columns), per_band)
    bands = [columns[start:end] for start, end in itertools.pairwise(cuts)]
    for earlier, band in itertools.pairwise(bands):  # a band's last leaves stand before their consumers in the next
        while len(earlier) > 1 and all(n in fed_leaves for n in earlier[-1]):  # columns of leaves only (_leaves_apart)
            band.insert(0, earlier.pop())
        leaves = [n for n in earlier[-1] if n in fed_leaves]
        if leaves:
            earlier[-1] = [n for n in earlier[-1] if n not in fed_leaves]
            band.insert(0, leaves)
    band_of: dict[str, int] = {}
    rank = {n: i for i, n in enumerate(graph.nodes)}  # the document's order breaks ties
    for i, band in enumerate(bands):
        band = [col for col in band if col]
        if band:
            _place_band(graph, band, pos, heights, top, row, pitch, rank)
            top = max(pos[n][1] + heights[n] for col in band for n in col) + row
            band_of.update((n, i) for col in band for n in col)
    if graph.groups:
        # Groups of nodes scattered all over a big graph can take more room apart than there is:
        # then they stay where the columns put them, frames over other nodes.
        height_before = _extent(pos, heights)
        room = max(height_before, min(POS_LIMIT / 10, max(SEPARATE_MAX_GROWTH * height_before, SEPARATE_ALWAYS)))
        apart = dict(pos)
        if _separate_groups(graph, apart, heights, pitch, band_of, min(y for _, y in pos.values()) + room):
            pos = apart
        elif notes is not None:
            need = ("more height than the canvas holds" if room == max(height_before, POS_LIMIT / 10)
                    else f"more than {room / height_before:.0f}x the height")
            notes.append(f"groups left where their columns put them, frames over other nodes: their nodes are "
                         f"so scattered that moved apart they would take {need}")
    return {n: pos[n] for n in sorted(pos, key=rank.__getitem__)}


def _leaves_apart(graph: Graph, layer: dict[str, int], fed_leaves: set[str]) -> dict[str, int]:
    """Where a column holds leaves of a group beside nodes of another (the next block's weights
    beside the last op of the block before it, a model's input beside its first layer's weight),
    those leaves get columns of their own, one per group, the ungrouped first, just before
    their consumers: so that no two groups' frames share a column (and stack one under the
    other instead of standing side by side)."""
    group_of = graph.group_of
    groups_at: dict[int, set[str | None]] = {}
    for n, c in layer.items():
        groups_at.setdefault(c, set()).add(group_of.get(n))
    leaves_at: dict[int, list[str | None]] = {}  # column -> its leaves' groups, each once, in order
    for n, c in layer.items():
        if n in fed_leaves and len(groups_at[c]) > 1:
            found = leaves_at.setdefault(c, [])
            if group_of.get(n) not in found:
                found.append(group_of.get(n))
    if not leaves_at:
        return layer
    for found in leaves_at.values():
        found.sort(key=lambda g: g is not None)  # the ungrouped leftmost (stable otherwise)
    added = sorted(leaves_at)  # columns followed by new ones
    shift = [0]  # shift[i]: how many columns are added after the columns added[:i]
    for c in added:
        shift.append(shift[-1] + len(leaves_at[c]))

    def column(n: str, c: int) -> int:
        base = c + shift[bisect.bisect_left(added, c)]  # after the columns added before c
        if c in leaves_at and n in fed_leaves:
            return base + 1 + leaves_at[c].index(group_of.get(n))  # its group's own column
        return base

    return {n: column(n, c) for n, c in layer.items()}


def _by_group(graph: Graph, column: list[str], wanted: dict[str, float]) -> Callable[[str], tuple]:
    """A column's order with the members of each group next to one another (nested groups
    too), so that frames are compact before _separate_groups: at each level of nesting, units
    (a group's members in this column, or a node) go by their mean wanted height."""
    paths = {n: ancestors(graph, graph.group_of[n])[::-1] if n in graph.group_of else [] for n in column}
    wanted_by_prefix: dict[tuple[str, ...], list[float]] = {}
    for n in column:
        for k in range(1, len(paths[n]) + 1):
            wanted_by_prefix.setdefault(tuple(paths[n][:k]), []).append(wanted.get(n, math.inf))
    mean = {prefix: sum(ws) / len(ws) for prefix, ws in wanted_by_prefix.items()}  # inf stays inf

    def key(n: str) -> tuple:
        levels = tuple((mean[tuple(paths[n][:k])], 0, paths[n][k - 1]) for k in range(1, len(paths[n]) + 1))
        return (*levels, (wanted.get(n, math.inf), 1, n))

    return key


def _band_cuts(graph: Graph, layer: dict[str, int], fed_leaves: set[str], count: int, per_band: int) -> list[int]:
    """Where bands of about per_band columns begin (and count, where the last ends): within half
    a band of the even cut, where the fewest groups span across (nearest the even cut among
    those), so that a group's frame does not stretch over two bands and all between them."""
    spanning = [0] * (count + 1)  # spanning[k]: groups with columns both before k and from k on
    if graph.groups:
        # A leaf goes with its first consumer into the next band when a cut falls between
        # them (layered_positions): it counts as in that consumer's column.
        at = {n: min(layer[c] for c in graph.consumers_of(n)) if n in fed_leaves else layer[n]
              for n in graph.group_of}
        for inside in within_map(graph).values():
            if inside:
                cols = [at[n] for n in inside]
                spanning[min(cols) + 1] += 1
                spanning[max(cols) + 1] -= 1
        for k in range(1, count + 1):
            spanning[k] += spanning[k - 1]
    cuts = [0]
    while cuts[-1] + per_band < count:
        even = cuts[-1] + per_band
        near = range(max(cuts[-1] + 1, even - per_band // 2), min(count - 1, even + per_band // 2) + 1)
        cuts.append(min(near, key=lambda k: (spanning[k], abs(k - even))))
    return [*cuts, count]


Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


def _extent(pos: dict[str, tuple[float, float]], heights: dict[str, float]) -> float:
    """How tall a layout is, from its highest node's top to its lowest node's bottom."""
    return max(y + heights[n] for n, (_, y) in pos.items()) - min(y for _, y in pos.values())


def _separate_groups(graph: Graph, pos: dict[str, tuple[float, float]], heights: dict[str, float],
                     pitch: float, band_of: dict[str, int], bottom_limit: float) -> bool:
    """Move frames off the nodes and frames they would cover, innermost groups first; False
    (pos half done) as soon as something would have to go below `bottom_limit`.

    At each level (a group, or the top), the units are the groups directly in it, each moved
    whole with everything inside, and the nodes directly in it. Taken in reading order of where
    each begins (its first band, then its first column there, then its top), each unit goes
    down just far enough to clear the units taken before it. Reading order, not tops: a frame
    that wraps over several bands covers their whole width, so by tops a model's input, in the
    column before its first stage, went below that whole stage; now the stage moves down below
    the input. Without groups nothing moves: nodes never overlap one another to begin with.
    """
    direct: dict[str | None, list[str]] = {}
    for n in graph.nodes:
        direct.setdefault(graph.group_of.get(n), []).append(n)
    inside, kids = within_map(graph), children_map(graph)  # per group, each would be O(groups)

    def node_rect(n: str) -> Rect:
        x, y = pos[n]
        return (x - PORT_R, y, x + NODE_W + PORT_R, y + heights[n])

    def frame_of(g: str) -> Rect | None:
        """As the canvas draws it: around its own nodes and its nested groups' frames (each with
        its title band). None: an empty group, drawn nowhere."""
        boxes = [node_rect(n) for n in direct.get(g, [])]
        boxes += [r for c in kids.get(g, []) if (r := frame_of(c)) is not None]
        if not boxes:
            return None
        return frame_around(min(b[0] for b in boxes), min(b[1] for b in boxes),
                            max(b[2] for b in boxes), max(b[3] for b in boxes))

    def begins(nodes: list[str]) -> tuple[int, float, float]:
        """(band, column's x, top) of where these nodes begin, in reading order."""
        band = min(band_of[n] for n in nodes)
        first = [pos[n] for n in nodes if band_of[n] == band]
        return band, min(x for x, _ in first), min(y for _, y in first)

    depth = {g: len(ancestors(graph, g)) for g in graph.groups}
    for level in [*sorted(graph.groups, key=depth.__getitem__, reverse=True), None]:
        units: list[tuple[Rect, list[str]]] = [(node_rect(n), [n]) for n in direct.get(level, [])]
        units += [(r, inside[c]) for c in kids.get(level, []) if (r := frame_of(c)) is not None]
        units.sort(key=lambda unit: begins(unit[1]))
        if not _stack_clear(units, pos, pitch, bottom_limit):
            return False
    return True


def _stack_clear(units: list[tuple[Rect, list[str]]], pos: dict[str, tuple[float, float]], pitch: float,
                 bottom_limit: float) -> bool:
    """Take the units (a rect and the nodes it moves with) in order; move each down as little
    as keeps it ROW_GAP / 2 clear of every unit taken before it in the columns it spans.
    Each column keeps the heights taken in it as sorted, disjoint spans, so a try is a bisect.
    False, at once, when a unit would reach below `bottom_limit`."""
    clearance = ROW_GAP / 2
    taken: dict[int, list[tuple[float, float]]] = {}
    half_column_gap = (pitch - NODE_W) / 2  # a column's cell runs from the middle of one gap to the next
    for (x0, y0, x1, y1), nodes in units:
        # By the rect, not its nodes: a deeply nested frame reaches across the gap.
        first, last = math.floor((x0 + half_column_gap) / pitch), math.floor((x1 + half_column_gap) / pitch)
        spans_of = [taken.setdefault(c, []) for c in range(first, last + 1)]
        top, height = y0, y1 - y0
        moved = True
        while moved:
            moved = False
            for spans in spans_of:
                i = bisect.bisect_left(spans, (top + height + clearance,))  # the spans that begin above its bottom
                if i and spans[i - 1][1] + clearance > top:  # the lowest of them reaches into it
                    top = spans[i - 1][1] + clearance
                    moved = True
            if top != y0 and top + height > bottom_limit:  # moved down past it (a frame as it lies is no growth)
                return False
        if top != y0:
            for n in nodes:
                pos[n] = (pos[n][0], pos[n][1] + top - y0)
        for spans in spans_of:
            bisect.insort(spans, (top, top + height))
    return True


def _place_band(graph: Graph, band: list[list[str]], pos: dict[str, tuple[float, float]],
                heights: dict[str, float], top: float, row: float, pitch: float, rank: dict[str, int]) -> None:
    """Place a band's columns left to right (see layered_positions).

    A wire that skips columns gets a lane: in each column it skips, no node comes within
    WIRE_CLEARANCE of the height it leaves its source at, and its destination lines its input
    port up with it where there is room, so the wire runs straight along the lane. Where that
    cannot be, the destination goes to the nearest place from which every wire into it misses
    the nodes it skips (_blocked), which holds whatever the lanes did.
    """
    column_of = {n: i for i, col in enumerate(band) for n in col}
    lanes: list[list[float]] = [[] for _ in band]
    # Keeping wires off nodes costs (wires that skip columns) x (nodes they skip); past this the
    # columns are simply stacked.
    check_wires = sum(len(band[c]) for col in band for n in col for d in graph.consumers_of(n)
                 for c in range(column_of[n] + 1, column_of.get(d, 0))) <= MAX_WIRE_CHECKS
    reach = 5 * max(sum(heights[n] + row for n in col) for col in band)  # the tallest column, stacked
    for i, column in enumerate(band):
        wanted: dict[str, float] = {}
        for n in column:
            node = graph.nodes[n]
            long_in = [(port, src) for port, src in graph.inputs_of(n).items()
                       if src in pos and column_of.get(src, i) < i - 1]
            placed = [pos[src][1] for src in graph.inputs_of(n).values() if src in pos]
            if long_in:
                port, src = long_in[0]
                wanted[n] = pos[src][1] + output_port_y(graph.nodes[src]) - input_port_y(node, port)
            elif placed:
                wanted[n] = sum(placed) / len(placed)
        if graph.groups:
            column.sort(key=_by_group(graph, column, wanted))
        else:
            column.sort(key=lambda n: (wanted.get(n, math.inf), rank[n]))
        cursor = top
        placed_here: list[str] = []
        for n in column:
            h = heights[n]
            blocked = _blocked(graph, band, pos, heights, column_of, n, i * pitch) if check_wires else []
            if blocked or lanes[i]:
                # The column's nodes so far: n may go between or above them, not onto them.
                column_only = [(pos[m][1] - h - row + 0.5, pos[m][1] + heights[m] + row - 0.5) for m in placed_here]
                blocked += column_only
                blocked += [(y - h - WIRE_CLEARANCE - 1.0, y + WIRE_CLEARANCE + 1.0) for y in lanes[i]]
                want = wanted.get(n, cursor)
                y = _free_place(want, blocked)
                if abs(y - want) > reach:  # keeping its wires clear would throw it far off: not that
                    y = _free_place(want, column_only)
            else:
                y = max(cursor, wanted.get(n, cursor))
            pos[n] = (i * pitch, y)
            placed_here.append(n)
            cursor = max(cursor, y + h + row)
            if check_wires:
                out_y = y + output_port_y(graph.nodes[n])
                for c in graph.consumers_of(n):
                    for skipped in range(i + 1, column_of.get(c, i)):
                        lanes[skipped].append(out_y)
    band_top = min((pos[n][1] for col in band for n in col), default=top)
    for n in (n for col in band for n in col):  # the band starts at `top`
        pos[n] = (pos[n][0], pos[n][1] - band_top + top)


def _blocked(graph: Graph, band: list[list[str]], pos: dict[str, tuple[float, float]],
             heights: dict[str, float], column_of: dict[str, int], n: str, x: float
             ) -> list[tuple[float, float]]:
    """The places (intervals of y) where node n, at x, would have a wire from one of its
    inputs run through a node in a column the wire skips."""
    blocked = []
    node = graph.nodes[n]
    for port, src in graph.inputs_of(n).items():
        if src not in pos or column_of.get(src, column_of[n]) >= column_of[n] - 1:
            continue
        x0 = pos[src][0] + NODE_W
        y0 = pos[src][1] + output_port_y(graph.nodes[src])
        in_y = input_port_y(node, port)
        for c in range(column_of[src] + 1, column_of[n]):
            for k in band[c]:
                kx, ky = pos[k]
                t1 = (kx - WIRE_CLEARANCE - x0) / (x - x0)
                t2 = (kx + NODE_W + WIRE_CLEARANCE - x0) / (x - x0)
                top, bottom = ky - WIRE_CLEARANCE, ky + heights[k] + WIRE_CLEARANCE
                # The line's height at t is y0 + t (Y - y0), Y the input port's height: it meets
                # the box for Y between these two bounds.
                low = min(y0 + (top - y0) / t for t in (t1, t2))
                high = max(y0 + (bottom - y0) / t for t in (t1, t2))
                blocked.append((low - in_y, high - in_y))
    return blocked


def free_top(graph: Graph, x: float, want: float, height: float, gap: float = FREE_GAP) -> float:
    """The top nearest `want` at which a box NODE_W wide and `height` tall, its left side at x,
    lies on no node of the graph and `gap` from each (auto-layout's own search for a free place):
    where a node is added, so that it never hides another (or is hidden)."""
    blocked = [(y - height - gap, y + node_height(graph, n) + gap)
               for n, (nx, y) in graph.layout.items()
               if usable_pos((nx, y)) and abs(nx - x) < NODE_W + gap]
    return _free_place(want, blocked)


def _free_place(want: float, blocked: list[tuple[float, float]]) -> float:
    """The y nearest `want` outside every blocked interval (its ends count as blocked)."""
    merged: list[list[float]] = []
    for lo, hi in sorted(blocked):
        if merged and lo <= merged[-1][1] + 2.0:  # closer than that: no room between
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        if lo <= want <= hi:
            return lo - 1.0 if want - lo < hi - want else hi + 1.0
    return want
