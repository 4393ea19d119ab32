"""The Derivatives panel's messages name nodes by the titles the canvas shows; the command line,
whose users type ids (--target, --wrt), keeps the ids.

autograd_bridge.calculus takes a naming function (`name`, default the id); the app's tasks
(autograd_bridge.calculus_tasks) pass graph.naming.by_title, as engine.Result.no_grad_reason's
callers do. The node_ids an error carries stay ids: they are keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_graph
from test_cli import run_main
from test_review_titles import refusing_op  # noqa: F401 - a fixture

from autograd_bridge import calculus
from autograd_bridge.calculus_tasks import Asked, check_gradients, differentiate_again, node_derivatives
from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from graph.errors import TargetError
from graph.fileformat import save
from graph.model import Node
from graph.ops import TENSOR


def lesson_graph():  # noqa: ANN201 - a Graph
    """Lesson 6's graph with a second pick: x, y = x**2, y1 titled y[1], select1 titled y[2]."""
    return make_graph([Node("x", TENSOR, value=[1.0, 2.0, 3.0], requires_grad=True),
                       Node("y", "pow", label="y = x**2", attrs={"exponent": 2}),
                       Node("y1", "select", label="y[1]", attrs={"dim": 0, "index": 1}),
                       Node("select1", "select", label="y[2]", attrs={"dim": 0, "index": 2}),
                       Node("k", TENSOR, value=[1.0, 2.0, 3.0], label="the constants"),
                       Node("ky", "mul", label="k*y")],
                      [("x", "y", "input"), ("y", "y1", "input"), ("y", "select1", "input"),
                       ("k", "ky", "input"), ("y", "ky", "other")])


def _app(graph, target: str, node: str):  # noqa: ANN001, ANN202 - a NodeDerivatives
    return node_derivatives(ComputeSession(), CancelToken(), graph, Asked(1, target), node)


def _cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str, graph=None) -> str:  # noqa: ANN001
    path = tmp_path / "lesson.json"
    save(graph or lesson_graph(), path)
    code, _out, err = run_main(capsys, argv[0], str(path), *argv[1:])
    assert code == 1 and "Traceback" not in err
    return err.strip()


def test_does_not_depend_is_named_by_titles_in_the_app_and_by_ids_on_the_command_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = _app(lesson_graph(), "select1", "y1")  # a scalar target: the Hessian's refusal
    assert out.error == "y[2] does not depend on y[1]: no path of edges leads from y[1] to y[2]", out.error
    again = differentiate_again(ComputeSession(), CancelToken(), lesson_graph(), Asked(1, "select1"), "y1")
    assert again.error == out.error
    assert _cli(capsys, tmp_path, "hessian", "--target", "select1", "--wrt", "y1") == (
        "error: select1 does not depend on y1: no path of edges leads from y1 to select1")
    compiled = ComputeSession().compiled_for(lesson_graph(), 1)[0]
    with pytest.raises(TargetError) as raised:
        calculus.jacobian(compiled, "select1", "y1", name=lambda n: n.upper())
    assert raised.value.message.startswith("SELECT1 does not depend on Y1") and raised.value.node_ids == (
        "select1", "y1")  # keys stay ids


def test_does_not_require_grad_is_named_by_titles_in_the_app(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    out = _app(lesson_graph(), "ky", "k")  # a vector target: the Jacobian's refusal
    assert out.error == ("(the constants) does not require grad (its requires_grad is off): autograd gives "
                         "no ∂(k*y)/∂(the constants)"), out.error
    assert _cli(capsys, tmp_path, "jacobian", "--target", "ky", "--wrt", "k").startswith(
        "error: k does not require grad (its requires_grad is off): autograd gives no ∂ky/∂k")


def test_a_size_refusal_is_named_by_titles_in_the_app(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calculus, "JACOBIAN_LIMIT", 4)  # under the panel's own limit: calculus refuses
    out = _app(lesson_graph(), "ky", "x")
    assert out.error is not None and out.error.startswith(
        "the Jacobian ∂(k*y)/∂x would have 9 elements ((k*y) [3] × x [3]), more than the limit of 4"), out.error
    out = _app(lesson_graph(), "select1", "y")
    assert out.error is not None and out.error.startswith(
        "the Hessian ∂²y[2]/∂y² would have 9 elements (y [3] twice)"), out.error
    assert _cli(capsys, tmp_path, "jacobian", "--target", "ky", "--wrt", "x").startswith(
        "error: the Jacobian ∂ky/∂x would have 9 elements (ky [3] × x [3]), more than the limit of 4")
    assert _cli(capsys, tmp_path, "hessian", "--target", "select1", "--wrt", "y").startswith(
        "error: the Hessian ∂²select1/∂y² would have 9 elements (y [3] twice)")


def test_gradchecks_refusals_are_named_by_titles_in_the_app(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = ComputeSession()
    out = check_gradients(session, CancelToken(), lesson_graph(), Asked(1, "k"))
    assert out.error == ("(the constants) depends on no tensor with requires_grad on: gradcheck has no "
                         "gradient to check"), out.error
    assert _cli(capsys, tmp_path, "gradcheck", "--target", "k") == (
        "error: k depends on no tensor with requires_grad on: gradcheck has no gradient to check")
    monkeypatch.setattr(calculus, "GRADCHECK_LIMIT", 2)
    out = check_gradients(session, CancelToken(), lesson_graph(), Asked(1, "select1"))
    assert out.error is not None and "3 elements (x 3), more than the limit of 2" in out.error, out.error


def test_hessian_diagonals_name_by_the_given_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calculus, "JACOBIAN_LIMIT", 4)
    compiled = ComputeSession().compiled_for(lesson_graph(), 1)[0]
    with pytest.raises(TargetError) as raised:
        calculus.hessian_diagonals(compiled, "select1", name=lambda n: f"<{n}>")
    assert raised.value.message.startswith("the Hessian diagonal ∂²<select1>/∂<x>² (one backward pass per "
                                           "element of <x>)"), raised.value.message
    assert raised.value.node_ids == ("select1", "x")  # keys stay ids


@pytest.mark.usefixtures("refusing_op")
def test_a_torch_failure_is_prefixed_by_titles_in_the_app(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A backward pass has no generated line to name: the error names what was being computed."""
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True, label="the input"),
                    Node("p", "refused_backward", label="copy"), Node("e", "exp", label="e = exp(copy)")],
                   [("x", "p", "input"), ("p", "e", "input")])
    out = _app(g, "e", "x")
    assert out.error == ("Jacobian ∂e/∂(the input): torch failed: refused_backward(): this backward takes "
                         "no input"), out.error
    assert _cli(capsys, tmp_path, "jacobian", "--target", "e", "--wrt", "x", graph=g) == (
        "error: Jacobian ∂e/∂x: torch failed: refused_backward(): this backward takes no input")
