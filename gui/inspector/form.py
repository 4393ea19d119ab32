"""The inspector's form: one editor per field of the shown node, built from the catalogues.
(~510 lines, one piece: every field's editor, parser and undo step beside the others.)

Op attributes get an editor per kind (graph.ops.KINDS), init parameters one line each from
their InitSpec (graph.inits). The form never writes to the graph itself: every accepted edit is
a new Node (`dataclasses.replace`) handed to `Document.edit_node` (or `Document.rename`), so it
is one undo step. Typed text is parsed by graph.values' parsers and the node checked by
Node.check; what either refuses is shown in red under its field, nothing is pushed and no
exception leaves a slot. When the document says the node changed (an edit, an undo), the form
reloads from the model with its handlers switched off, so a refresh never pushes a command.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph.errors import GraphError, ValueSpecError
from graph.inits import INITS, default_init, resolved_init
from graph.model import Node
from graph.ops import DTYPES, FLOAT_DTYPES, Attr
from graph.safetext import visible
from graph.values import (  # the value field's limits: graph.values, as the canvas editor reads them too
    LITERAL_MAX,
    TOO_LONG,
    USE_INSTEAD,
    VALUE_TEXT_MAX,
    as_dtype,
    init_as_dtype,
    init_shape,
    parse_leaf_value,
    parse_param_text,
    value_text,
)
from gui.document import Document
from gui.fields import FieldEdit
from gui.inspector.style import GREY, RED, elide, shape_text
from gui.titles import op_symbol, title_of

INT_RANGE = 1_000_000
MODES = ("literal value", "init (generated)")

__all__ = ["INT_RANGE", "LITERAL_MAX", "MODES", "TOO_LONG", "VALUE_TEXT_MAX", "NodeForm", "Row", "default_init",
           "init_as_literal", "node_title", "value_text"]


def _nest(flat: list[float], shape: tuple[int, ...]) -> object:
    if not shape:
        return flat[0]
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def init_as_literal(init: dict, dtype: str = "float32") -> tuple[object, bool]:
    """The values an init spec makes, as a nested list of numbers of the leaf's dtype (ints
    for int64, bools for bool), and whether they are exact.

    Deterministic initialisers are computed in plain Python by their InitSpec; random ones
    become zeros of the same shape (their values are only known by running torch).
    """
    shape = init_shape(init)
    n = math.prod(shape)
    if n > LITERAL_MAX:
        raise ValueSpecError(f"the init makes {n:,} elements; a literal value holds at most "
                             f"{LITERAL_MAX:,}: make the shape smaller first")
    spec = INITS[init["fn"]]
    as_dtype = {"int64": int, "bool": bool}.get(dtype, float)
    if spec.values is None:
        return _nest([as_dtype(0)] * n, shape), False
    return _nest([as_dtype(v) for v in spec.values(resolved_init(init), shape)], shape), True


def node_title(node: Node) -> str:
    op = ("tensor (leaf)" if node.is_tensor else node.op if node.spec.symbol == node.op
          else f"{node.op}  {op_symbol(node.spec.symbol)}")
    name = f"{node.label}  ({node.id})" if node.label else node.id  # the canvas shows the label
    return visible(f"{name}  ·  {op}")


class Row(QWidget):
    """One editor with an optional grey hint and a red message under it."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(editor)
        self.hint = QLabel()
        self.hint.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.hint.setStyleSheet(f"color: {GREY};")
        self.hint.setWordWrap(True)
        self.hint.hide()
        lay.addWidget(self.hint)
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.error.setObjectName("error")
        self.error.setStyleSheet(f"color: {RED};")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        lay.addWidget(self.error)
        if isinstance(editor, FieldEdit):  # its message is about what was typed, which Esc takes back
            editor.typingTakenBack.connect(self.clear_error)

    def show_error(self, message: str) -> None:
        self.error.setText(elide(message))
        self.error.show()

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))


class NodeForm(QWidget):
    """The editors of one node (`show_node`); `rows` maps a field ("value", "init.shape",
    "attr.dim", …) to its Row."""

    renamed = Signal(str)  # the shown node, renamed through the id field: its new id

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self.rows: dict[str, Row] = {}  # field name -> row of the current form
        self.refreshing = False  # loading from the model: handlers do nothing
        self.renaming = False  # Document.rename is running (it removes and re-adds the node)
        self._form: QWidget | None = None
        self._form_key: tuple | None = None
        self._holder = QVBoxLayout(self)
        self._holder.setContentsMargins(0, 0, 0, 0)

    def show_node(self, node_id: str | None) -> None:
        """Build and load the form for a node of the document (None: no form)."""
        self.node_id = node_id
        self._form_key = None
        if node_id is None:
            self._drop_form()
        else:
            self.refresh()

    def _node(self) -> Node | None:
        return self.doc.graph.nodes.get(self.node_id) if self.node_id is not None else None

    def flush_focused_edit(self) -> None:
        """Text typed into the shown node's form but not yet entered is committed to that node
        now, as leaving the field would do, before the form goes."""
        focused = QApplication.focusWidget()
        if (isinstance(focused, QLineEdit) and self._form is not None and self._form.isAncestorOf(focused)
                and not focused.isReadOnly()):
            focused.editingFinished.emit()

    def _drop_form(self) -> None:
        form, self._form, self.rows = self._form, None, {}  # handlers of the old form now do nothing
        if form is not None:
            self._holder.removeWidget(form)
            form.hide()  # moves focus away: the old editors' editingFinished finds no rows
            form.deleteLater()  # a slot of one of its editors may still be running

    @staticmethod
    def _key(node: Node) -> tuple:
        if node.is_tensor:
            return (node.id, node.op, node.init is None, (node.init or {}).get("fn"))
        return (node.id, node.op)

    def refresh(self) -> None:
        """Show the model's data for the node, rebuilding the editors if its kind of form changed."""
        node = self._node()
        if node is None:
            return
        if self._key(node) != self._form_key:
            self._build_form(node)
            self._form_key = self._key(node)
        self._load(node)

    def _add_row(self, form: QFormLayout, key: str, label: str, editor: QWidget,
                 tip: str = "") -> QWidget:
        row = Row(editor)
        editor.setObjectName(key)
        if tip:
            editor.setToolTip(tip)
        form.addRow(label, row)
        self.rows[key] = row
        return editor

    def _build_form(self, node: Node) -> None:
        self._drop_form()
        self._form = QWidget()
        form = QFormLayout(self._form)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        id_edit = self._add_row(form, "id", "id", FieldEdit(), "the node's unique name; Enter renames")
        id_edit.editingFinished.connect(self._on_id_edited)
        label_edit = self._add_row(form, "label", "label", FieldEdit(), "free text shown on the canvas")
        label_edit.setPlaceholderText("(none)")
        label_edit.editingFinished.connect(self._on_label_edited)
        if node.is_tensor:
            self._build_tensor_rows(form, node)
        else:
            self._build_op_rows(form, node)
        self._holder.addWidget(self._form)
        self._form.show()

    def _build_tensor_rows(self, form: QFormLayout, node: Node) -> None:
        mode = self._add_row(form, "mode", "data", QComboBox(),
                             "a literal value typed here, or values generated by an initialiser")
        mode.addItems(MODES)
        mode.currentIndexChanged.connect(self._on_mode_changed)
        if node.init is None:
            value = self._add_row(form, "value", "value", FieldEdit(),
                                  "JSON: a number, or a nested list such as [[1, 2], [3, 4]]")
            value.setMaxLength(VALUE_TEXT_MAX + 1)  # one over: a longer text is seen, and refused saying so
            value.editingFinished.connect(self._on_value_edited)
            value.textEdited.connect(self._on_value_typed)
        else:
            fn = self._add_row(form, "init.fn", "init", QComboBox(), "the initialiser")
            fn.addItems(list(INITS))
            fn.currentIndexChanged.connect(self._on_init_fn_changed)
            for p in INITS[node.init["fn"]].params:
                edit = self._add_row(form, f"init.{p.name}", f"  {p.name}", FieldEdit(),
                                     f"{p.kind}{'' if p.required else ', optional'}: {p.doc}".rstrip(": "))
                edit.setPlaceholderText("required" if p.required else f"default: {json.dumps(p.default)}")
                edit.editingFinished.connect(lambda n=p.name, k=p.kind, r=p.required: self._on_init_param(n, k, r))
        grad = self._add_row(form, "requires_grad", "", QCheckBox("requires grad"),
                             "track ∂target/∂this tensor (a leaf of the autograd graph)")
        grad.toggled.connect(self._on_requires_grad)
        dtype = self._add_row(form, "dtype", "dtype", QComboBox())
        dtype.addItems(list(DTYPES))
        dtype.currentIndexChanged.connect(self._on_dtype_changed)

    def _build_op_rows(self, form: QFormLayout, node: Node) -> None:
        spec = node.spec
        symbol = f"{op_symbol(spec.symbol)}   " if spec.symbol != spec.name else ""
        # torch.nn.functional.cross_entropy(input, target) unbroken held the label wider than a
        # narrow dock, which cut it off at the right and at the bottom: a module path deeper than
        # torch. gets a line of its own (a line break, not a zero-width space, which a copy of it
        # would carry into the user's code).
        module, _, name = spec.function.rpartition(".")
        function = f"{module}.\n{name}" if "." in module else spec.function
        info = QLabel(f"{symbol}{function}({', '.join(spec.inputs)})\n{spec.rule}")
        info.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        info.setWordWrap(True)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info.setStyleSheet(f"color: {GREY};")
        self._add_row(form, "op", "op", info, f"category: {spec.category}")
        for attr in spec.attrs:
            tip = f"{attr.kind}{', required' if attr.required else ''}: {attr.doc}".rstrip(": ")
            if attr.kind in ("int", "dim"):
                editor = QSpinBox()
                editor.setRange(-INT_RANGE, INT_RANGE)
                editor.setKeyboardTracking(False)  # one edit per Enter / arrow click, not per key
                editor.valueChanged.connect(lambda _v, a=attr: self._on_attr(a))
            elif attr.kind == "bool":
                editor = QCheckBox(attr.name)
                editor.toggled.connect(lambda _v, a=attr: self._on_attr(a))
            elif attr.kind == "choice":
                editor = QComboBox()
                editor.addItems(list(attr.choices))
                editor.currentIndexChanged.connect(lambda _v, a=attr: self._on_attr(a))
            else:  # number, optional_number, ints, dims, optional_dims
                editor = FieldEdit()
                if attr.kind == "optional_dims":
                    editor.setPlaceholderText("null: all dimensions")
                elif attr.kind == "optional_number":
                    editor.setPlaceholderText("null: none")
                editor.editingFinished.connect(lambda a=attr: self._on_attr(a))
            self._add_row(form, f"attr.{attr.name}", "" if attr.kind == "bool" else attr.name,
                          editor, tip)

    def _load(self, node: Node) -> None:
        """Show the model's data; handlers are off while this runs."""
        self.refreshing = True
        try:
            for row in self.rows.values():
                row.clear_error()
            # Shown escaped (graph.safetext), as on the canvas; left as shown, nothing changes.
            self.rows["id"].editor.setText(visible(node.id))
            self.rows["label"].editor.setText(visible(node.label or ""))
            if node.is_tensor:
                self._load_tensor(node)
            else:
                for name, v in node.resolved_attrs().items():
                    editor = self.rows[f"attr.{name}"].editor
                    attr = node.spec.attr(name)
                    if attr.kind in ("int", "dim"):
                        editor.setValue(int(v))
                    elif attr.kind == "bool":
                        editor.setChecked(bool(v))
                    elif attr.kind == "choice":
                        editor.setCurrentIndex(max(0, editor.findText(str(v))))
                    else:
                        editor.setText(json.dumps(v))
        finally:
            self.refreshing = False

    def _load_tensor(self, node: Node) -> None:
        self.rows["mode"].editor.setCurrentIndex(0 if node.init is None else 1)
        try:
            shape = node.leaf_shape()
        except GraphError:
            shape = None
        shape_hint = "" if shape is None else shape_text(shape)
        if node.init is None:
            elements = None if shape is None else math.prod(shape)
            text, row = value_text(node.value, elements), self.rows["value"]
            row.editor.setReadOnly(text is None)  # a value too long to show is kept as it is
            row.editor.setPlaceholderText("" if text is not None else "(not shown: see below)")
            row.editor.setText(text or "")
            row.set_hint(shape_hint if text is not None else
                         f"{shape_hint} · not shown, more than the field's {VALUE_TEXT_MAX:,} characters, and "
                         f"kept as it is; to change it, {USE_INSTEAD}")
        else:
            fn = self.rows["init.fn"]
            fn.editor.setCurrentIndex(max(0, fn.editor.findText(node.init["fn"])))
            fn.set_hint(f"makes {shape_hint}" if shape_hint else "")
            for name in (p.name for p in INITS[node.init["fn"]].params):
                v = node.init.get(name)
                self.rows[f"init.{name}"].editor.setText("" if name not in node.init else json.dumps(v))
        self.rows["requires_grad"].editor.setChecked(node.requires_grad)
        dtype = self.rows["dtype"]
        dtype.editor.setCurrentIndex(max(0, dtype.editor.findText(node.dtype)))
        dtype.set_hint("")  # a note on the last switch goes with the next change

    # ---- edits: each builds a copy and hands it to the document ----

    def _commit(self, key: str, what: str, change: Callable[[Node], Node], revert: bool = False) -> None:
        """Push the node `change` makes from the shown one (dataclasses.replace: nodes are never
        changed in place); show why if it is refused."""
        if self.refreshing or self.node_id is None or key not in self.rows:
            return
        row = self.rows[key]
        try:
            node = change(self.doc.graph.nodes[self.node_id])
            node.check()
            self.doc.edit_node(node, f"Edit {what}")
        except Exception as e:  # noqa: BLE001 - whatever went wrong is shown, never raised
            if isinstance(e, GraphError):
                message = e.message
            else:
                message = f"not accepted: {type(e).__name__}: {e}"
            if revert:  # a combo box or check box: show the model's state again
                self.refresh()
            row = self.rows.get(key, row)
            row.show_error(message)
        else:
            row.clear_error()

    def _on_id_edited(self) -> None:
        if self.refreshing or self.node_id is None:
            return
        row = self.rows["id"]
        old, new = self.node_id, row.editor.text()
        if new in (old, visible(old)):  # as shown: an escaped id is not renamed to its escapes
            row.clear_error()
            return
        try:  # the document checks the id (the loader's rule, and no duplicates)
            self.renaming = True
            try:
                self.doc.rename(old, new)
            finally:
                self.renaming = False
        except Exception as e:  # noqa: BLE001
            row.show_error(e.message if isinstance(e, GraphError) else str(e))
            return
        self.node_id = new  # the same node under its new name: nothing typed is pending
        self.renamed.emit(new)

    def _on_label_edited(self) -> None:
        text = self.rows["label"].editor.text() if "label" in self.rows else ""

        def change(node: Node) -> Node:  # Node.check holds the label rule
            if node.label is not None and text == visible(node.label):
                return node  # as shown: an escaped label stays what the file holds
            return replace(node, label=text if text.strip() else None)

        self._commit("label", "label", change)

    def _on_value_typed(self, text: str) -> None:
        if len(text) > VALUE_TEXT_MAX and "value" in self.rows:  # a paste cut at the field's length
            self.rows["value"].show_error(TOO_LONG)

    def _on_value_edited(self) -> None:
        row = self.rows.get("value")
        if row is None or row.editor.isReadOnly():  # a value too long to show is not in the field
            return
        text = row.editor.text()

        def change(node: Node) -> Node:
            if len(text) > VALUE_TEXT_MAX:
                raise ValueSpecError(TOO_LONG)
            return replace(node, value=parse_leaf_value(text, node.dtype), init=None)

        self._commit("value", "value", change)

    def _on_mode_changed(self, index: int) -> None:
        random = []

        def change(node: Node) -> Node:
            if index == 1 and node.init is None:  # randn makes floats only: zeros for int64 and bool
                fn = "randn" if node.dtype in FLOAT_DTYPES else "zeros"
                return replace(node, init=default_init(fn, node.leaf_shape()), value=None)
            if index == 0 and node.init is not None:
                value, exact = init_as_literal(node.init, node.dtype)
                random.append(not exact)
                return replace(node, value=value, init=None)
            return node

        self._commit("mode", "data", change, revert=True)
        if any(random) and "value" in self.rows:
            row = self.rows["value"]
            row.set_hint(f"{row.hint.text()} · the random values are only known by running: "
                         "they became zeros")

    def _on_init_fn_changed(self, index: int) -> None:
        fn = list(INITS)[index]

        def change(node: Node) -> Node:
            if node.init is not None and node.init.get("fn") != fn:
                return replace(node, init=default_init(fn, node.leaf_shape()))
            return node

        self._commit("init.fn", "init", change, revert=True)

    def _on_init_param(self, name: str, kind: str, required: bool) -> None:
        key = f"init.{name}"
        text = self.rows[key].editor.text() if key in self.rows else ""

        def change(node: Node) -> Node:
            init = dict(node.init or {})
            if not text.strip():
                if required:
                    raise ValueSpecError(f"init parameter '{name}' is required")
                init.pop(name, None)
            else:
                init[name] = parse_param_text(kind, text, f"init parameter '{name}'")
            init_shape(init)
            return replace(node, init=init_as_dtype(init, node.dtype))  # 2.0 in an int64 leaf is 2

        self._commit(key, f"init {name}", change)

    def _on_requires_grad(self, checked: bool) -> None:
        def change(node: Node) -> Node:
            return replace(node, requires_grad=bool(checked))

        self._commit("requires_grad", "requires_grad", change, revert=True)

    def _on_dtype_changed(self, index: int) -> None:
        """One undo step switches the dtype and turns the numbers into the new dtype's (3.0 to 3
        for int64), and requires_grad off where the new dtype cannot have it, saying so."""
        dtype = DTYPES[index]

        def change(node: Node) -> Node:
            if node.dtype == dtype:
                return node
            try:
                data = ({"value": as_dtype(node.value, dtype)} if node.init is None
                        else {"init": init_as_dtype(node.init, dtype)})
            except ValueSpecError as e:
                raise ValueSpecError(f"{title_of(node)}: {e.message}", [node.id], "value") from None
            if dtype not in FLOAT_DTYPES:
                data["requires_grad"] = False
            return replace(node, dtype=dtype, **data)

        before = self._node()
        self._commit("dtype", "dtype", change, revert=True)
        after = self._node()
        if (before is not None and before.requires_grad and after is not None and after.dtype == dtype
                and not after.requires_grad and "dtype" in self.rows):
            self.rows["dtype"].set_hint(f"requires grad is off now: only floating point tensors can "
                                        f"require gradients, and {dtype} is not one (Ctrl+Z undoes both)")

    def _on_attr(self, attr: Attr) -> None:
        key = f"attr.{attr.name}"
        if key not in self.rows:
            return
        editor = self.rows[key].editor
        what = f"attribute '{attr.name}'"

        def change(node: Node) -> Node:
            if isinstance(editor, QSpinBox):
                v: object = editor.value()
            elif isinstance(editor, QCheckBox):
                v = editor.isChecked()
            elif isinstance(editor, QComboBox):
                v = editor.currentText()
            else:
                v = parse_param_text(attr.kind, editor.text(), what)
            attrs = dict(node.attrs)
            if not attr.required and v == attr.default and type(v) is type(attr.default):
                attrs.pop(attr.name, None)  # only explicit settings are stored
            else:
                attrs[attr.name] = v
            return replace(node, attrs=attrs)

        self._commit(key, attr.name, change, revert=not isinstance(editor, QLineEdit))
