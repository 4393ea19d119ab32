"""Errors a user can cause. Each carries the ids of the nodes (or edges) involved."""

from __future__ import annotations


class GraphError(Exception):
    """Base class: a message for people plus the node ids to mark on the canvas."""

    def __init__(self, message: str, node_ids: tuple[str, ...] | list[str] = (),
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.node_ids = tuple(node_ids)
        self.field = field  # the node's field at fault, where one is (the loader names it)

    def __str__(self) -> str:
        return self.message


class FileFormatError(GraphError):
    """A file that is not a valid GradCanvas v1 document."""


class ValueSpecError(GraphError):
    """A tensor literal, init spec or attribute that is not valid."""


class CycleError(GraphError):
    """The wiring has a cycle; node_ids are the nodes on it, in order."""


class MissingInputError(GraphError):
    """A required input port is not connected."""


class ShapeError(GraphError):
    """Shapes do not fit an op."""


class TargetError(GraphError):
    """The target cannot be differentiated as asked."""


class ExecutionError(GraphError):
    """torch raised while running a node."""


class DeviceError(GraphError):
    """The requested device is not available."""
