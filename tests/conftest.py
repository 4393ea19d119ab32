"""Shared test setup. Qt must know it has no screen before anything imports it."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
