"""Old files load forever; files from a newer GradCanvas are refused, naming both versions.

tests/fixtures/vN/ holds every bundled example as it was written in format version N. These
files are never edited: when the format changes, a new folder vN+1 gets the examples as they
are then, and every older folder must still load, check and compute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcanvas.cli import main
from graph import fileformat
from graph.errors import FileFormatError
from graph.fileformat import dumps, load, loads

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
FIXTURES = ROOT / "tests" / "fixtures"
VERSIONS = range(1, fileformat.VERSION + 1)
FIXTURE_FILES = sorted((FIXTURES / f"v{v}" / p.name for v in VERSIONS for p in EXAMPLES), key=str)


def test_every_example_has_a_fixture_in_every_version() -> None:
    missing = [str(p.relative_to(ROOT)) for p in FIXTURE_FILES if not p.is_file()]
    assert not missing, f"copy the examples into these (never edit old ones): {missing}"


@pytest.mark.parametrize("path", [p for p in FIXTURE_FILES if p.is_file()],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_old_fixture_loads_checks_and_computes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["version"] == int(path.parent.name.removeprefix("v"))
    graph = load(path)
    # every node and edge the file lists, nothing more
    assert list(graph.nodes) == [n["id"] for n in raw["nodes"]]
    assert [n.op for n in graph.nodes.values()] == [n["op"] for n in raw["nodes"]]
    assert sorted((e.src, e.dst, e.port) for e in graph.edges) == sorted(
        (e["from"], e["to"], e["port"]) for e in raw["edges"])
    # saved in today's version, it loads to the same document
    again = loads(dumps(graph))
    assert dumps(again) == dumps(graph)
    assert main(["check", str(path)]) == 0
    assert main(["grad", str(path), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out.splitlines()[-1])["grads"]) == set(graph.nodes)


def _doc(version: object) -> str:
    return json.dumps({"format": "gradcanvas", "version": version,
                       "nodes": [{"id": "a", "op": "tensor", "value": 1.0}], "edges": []})


@pytest.mark.parametrize("version", [fileformat.VERSION + 1, 99, 2**70])
def test_a_newer_version_is_refused_naming_both(version: int, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FileFormatError) as e:
        loads(_doc(version))
    message = e.value.message
    assert f"version {version}" in message and f"version {fileformat.VERSION}" in message, message
    path = tmp_path / "new.json"
    path.write_text(_doc(version), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"version {version}" in err and f"up to version {fileformat.VERSION}" in err


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_a_version_that_is_not_a_positive_integer_is_refused(version: object) -> None:
    with pytest.raises(FileFormatError, match="field 'version'"):
        loads(_doc(version))
