"""Moved: the computation is in autograd_bridge.compute, the Qt worker in gui.worker.
This name stays only until every importer is updated (removed in the same change)."""

from autograd_bridge.compute import ComputeResult, NodeView, SliceResult  # noqa: F401
from gui.worker import Computer  # noqa: F401
