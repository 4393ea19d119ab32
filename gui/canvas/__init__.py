"""The canvas, split by concern:

- items: NodeItem, EdgeItem, wire_path, the preview images, layout constants and COLORS
- scene: CanvasScene, which mirrors the Document and forwards the mouse to the gesture in progress
- interactions: one small object per gesture (WireDrag, CutDrag, MoveDrag, RubberBand)
- view: CanvasView (zoom, pan, fit, palette drops, keys; Esc cancels a gesture)
- editor: the in-place value editor
- overview: the bulk drawing (every wire always, every node when zoomed out) and its arrays
- wires: a wire's curve, box, pens and segments
- lod, labels, style, previews: levels of detail, words, colours and fonts, tensor pictures

The names the rest of the app imports are re-exported here.
"""

from gui.canvas.editor import ValueEditor, open_value_editor, set_value_text
from gui.canvas.interactions import CutDrag, Interaction, MoveDrag, RubberBand, WireDrag
from gui.canvas.items import (
    COLORS,
    DIFF_BTN,
    HEADER_H,
    MAX_ZOOM,
    MIN_ZOOM,
    NODE_W,
    OVERLAY_H,
    PORT_H,
    PORT_R,
    PREVIEW_H,
    SCENE_MARGIN,
    EdgeItem,
    NodeItem,
    preview_image,
    wire_path,
)
from gui.canvas.scene import CanvasScene
from gui.canvas.view import CanvasView

_preview_image = preview_image  # the name tests/test_gui_review.py imports

__all__ = [
    "COLORS", "DIFF_BTN", "HEADER_H", "MAX_ZOOM", "MIN_ZOOM", "NODE_W", "OVERLAY_H", "PORT_H", "PORT_R",
    "PREVIEW_H", "SCENE_MARGIN", "CanvasScene", "CanvasView", "CutDrag", "EdgeItem", "Interaction",
    "MoveDrag", "NodeItem", "RubberBand", "ValueEditor", "WireDrag", "open_value_editor", "preview_image",
    "set_value_text", "wire_path",
]
