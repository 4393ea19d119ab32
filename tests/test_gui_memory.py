"""The app's memory limit (issue 9, "A budget for the whole run"): a run estimated over it is not
started; the window asks, and runs it only if told to; the limit is a setting."""

from __future__ import annotations

from helpers import RESULT_TIMEOUT_MS

from graph.model import Edge, Graph, Node

SIDE = 300  # each [SIDE, SIDE] float32 tensor is 360 KB (few enough elements for the plots)


def _matmul_graph() -> Graph:
    g = Graph()
    for n, seed in (("a", 1), ("b", 2)):
        g.add_node(Node(n, "tensor", init={"fn": "randn", "shape": [SIDE, SIDE], "seed": seed}, requires_grad=True))
    g.add_node(Node("mm", "matmul"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("a", "mm", "input"))
    g.add_edge(Edge("b", "mm", "other"))
    g.add_edge(Edge("mm", "s", "input"))
    return g


def _run(qtbot, window, answer: bool) -> list[tuple[int, int, str]]:  # noqa: ANN001
    asked: list[tuple[int, int, str]] = []

    def ask(needed: int, limit: int, message: str) -> bool:
        asked.append((needed, limit, message))
        return answer

    window.memory.ask_run_anyway = ask
    window.settings.setValue("memory_limit", "512K")
    window.doc.reset(_matmul_graph())
    window.doc.set_target("s")
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == "s",
                    timeout=RESULT_TIMEOUT_MS)
    window.computer.wait()
    return asked


def test_a_run_over_the_limit_is_not_started_when_the_user_says_no(qtbot, window) -> None:  # noqa: ANN001
    asked = _run(qtbot, window, answer=False)
    assert len(asked) == 1
    needed, limit, message = asked[0]
    assert limit == 512 << 10 and needed > 3 * SIDE * SIDE * 4  # at least a, b and mm's values
    assert "mm" in message
    result = window.last_result
    assert result.over_budget == (needed, limit) and result.nodes == {}
    assert "mm" in result.error_nodes and "over the memory limit" in result.error
    assert window.scene.nodes["mm"].error  # the refusal sits on the node it names


def test_a_run_over_the_limit_runs_when_the_user_says_so(qtbot, window) -> None:  # noqa: ANN001
    import torch

    asked = _run(qtbot, window, answer=True)
    qtbot.waitUntil(lambda: window.last_result.over_budget is None and "a" in window.last_result.nodes,
                    timeout=RESULT_TIMEOUT_MS)
    assert len(asked) == 1
    g = torch.Generator().manual_seed(2)  # randn's seed rule, independently: ∂s/∂a = 1 · bᵀ
    b = torch.randn(SIDE, SIDE, generator=g)
    expected = b.sum(dim=1).expand(SIDE, SIDE)
    grad = window.last_result.nodes["a"].grad
    assert abs(grad - expected.numpy()).max() < 1e-3
    # a value edit of the same wiring reuses the allowed compile: no second question
    window.doc.edit_node(Node("a", "tensor", init={"fn": "randn", "shape": [SIDE, SIDE], "seed": 5},
                              requires_grad=True))
    qtbot.waitUntil(lambda: window.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    assert len(asked) == 1


def test_the_memory_limit_setting_refuses_what_is_not_a_size(window) -> None:  # noqa: ANN001
    answers = iter(["lots", "2G"])
    errors: list[str] = []

    def ask_text(current: str, error: str) -> str:
        errors.append(error)
        return next(answers)

    window.memory.ask_text = ask_text
    assert window.memory.edit()
    assert errors[0] == "" and "not a size" in errors[1]
    assert window.settings.value("memory_limit") == "2G"
    assert window.memory.for_run(window.doc.revision) == 2 << 30
    window.memory.ask_text = lambda current, error: "none"
    assert window.memory.edit() and window.memory.for_run(window.doc.revision) is None
    window.memory.ask_text = lambda current, error: None  # cancelled: nothing changes
    assert not window.memory.edit() and window.settings.value("memory_limit") == "none"
