"""Ops that move, select or view entries: their partials are the output's, moved back (and
added up where an index picks an entry twice: gather, index_select)."""

from __future__ import annotations

from graph.ops.spec import MAX_VARIADIC, VARIADIC_COUNT, Attr, OpSpec


def _count(what: str) -> Attr:
    """How many ports a cat or stack node has (not torch's: the length of its tuple)."""
    return Attr(VARIADIC_COUNT, "int", 2, required=True, call=False,
                doc=f"how many tensors {what}: ports tensors.0 … tensors.(num_inputs − 1), up to {MAX_VARIADIC}")


# split and chunk return a tuple of pieces; a node is one piece (`index`), so each node keeps one
# output: a value, a partial and a line of its own, like every other node.
_PIECE = Attr("index", "int", 0, required=True, call=False,
              doc="which piece this node is (from 0; negative counts from the end)")

ENTRIES: list[OpSpec] = [
    OpSpec("reshape", "torch.reshape", ("input",), "shape", "reshape",
           "∂/∂input = grad reshaped back to the input's shape",
           attrs=(Attr("shape", "ints", [-1], required=True, doc="new shape; -1 infers one"),),
           example_shapes={"input": (2, 3)}, example_attrs={"shape": [3, -1]}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("transpose", "torch.transpose", ("input",), "shape", "xᵀ",
           "∂/∂input = grad with dim0 and dim1 swapped back",
           attrs=(Attr("dim0", "dim", 0, required=True), Attr("dim1", "dim", 1, required=True)),
           example_shapes={"input": (2, 3)}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("select", "torch.select", ("input",), "shape", "[i]",
           "∂/∂input = grad at the selected index, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True), Attr("index", "int", 0, required=True)),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1, "index": 2}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("flatten", "torch.flatten", ("input",), "shape", "flatten",
           "∂/∂input = grad reshaped back to the input's shape",
           attrs=(Attr("start_dim", "dim", 0), Attr("end_dim", "dim", -1)),
           example_shapes={"input": (2, 3, 2)}, example_attrs={"start_dim": 1}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("permute", "torch.permute", ("input",), "shape", "permute",
           "∂/∂input = grad with the dimensions put back in place",
           attrs=(Attr("dims", "dims", [1, 0], required=True,
                       doc="the input's dimensions in their new order"),),
           example_shapes={"input": (2, 3)}, keeps_finite=True,
           partial_reveals=("input",)),
    # unsqueeze's dim counts the output's dimensions (one more): torch checks its range.
    OpSpec("unsqueeze", "torch.unsqueeze", ("input",), "shape", "unsqueeze",
           "∂/∂input = grad with the new dimension removed",
           attrs=(Attr("dim", "int", 0, required=True, doc="where the new size-1 dimension goes"),),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": -1}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("squeeze", "torch.squeeze", ("input",), "shape", "squeeze",
           "∂/∂input = grad with the size-1 dimensions put back",
           attrs=(Attr("dim", "optional_dims", None, doc="size-1 dimension(s) to remove; null: every one"),),
           example_shapes={"input": (2, 1, 3)}, keeps_finite=True,
           partial_reveals=("input",)),
    OpSpec("expand", "torch.Tensor.expand", ("input",), "shape", "expand",
           "∂/∂input = grad summed over the expanded dimensions",
           attrs=(Attr("size", "ints", [-1], required=True,
                       doc="the new size; -1 keeps a dimension's size"),),
           example_shapes={"input": (1, 3)}, example_attrs={"size": [2, -1]},
           reveals_nonfinite=("input",), partial_reveals=("input",)),
    OpSpec("narrow", "torch.narrow", ("input",), "shape", "narrow",
           "∂/∂input = grad in the kept slice, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True), Attr("start", "int", 0, required=True),
                  Attr("length", "int", 1, required=True)),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1, "start": 1, "length": 2},
           keeps_finite=True,
           partial_reveals=("input",)),
    # The int64 index passes by keyword: torch's signatures put dim between input and index.
    OpSpec("gather", "torch.gather", ("input", "index"), "shape", "gather",
           "out[i][j] = input[i][index[i][j]] (dim 1): ∂/∂input = grad added back at the gathered "
           "positions; none to index",
           attrs=(Attr("dim", "dim", 0, required=True, doc="the dimension index picks along"),),
           example_shapes={"input": (2, 3), "index": (2, 4)}, example_attrs={"dim": 1},
           example_values={"index": [[0, 2, 2, 1], [1, 0, 0, 0]]}, input_dtypes={"index": "int64"},
           no_grad_inputs=("index",), positional_inputs=1),
    OpSpec("index_select", "torch.index_select", ("input", "index"), "shape", "[idx]",
           "the slices of input at the 1-D index along dim: ∂/∂input = grad added back at those "
           "slices; none to index",
           attrs=(Attr("dim", "dim", 0, required=True, doc="the dimension index picks along"),),
           example_shapes={"input": (3, 2), "index": (4,)},
           example_values={"index": [2, 0, 2, 1]}, input_dtypes={"index": "int64"},
           no_grad_inputs=("index",), positional_inputs=1),
    # Variadic: a node's ports are tensors.0, tensors.1, … (num_inputs of them). dim is an "int"
    # (torch checks its range): the catalogue's "dim" kind names a dimension of the first input,
    # and here that is one tensor of several (stack's range is one more than its rank, too).
    OpSpec("cat", "torch.cat", ("tensors",), "shape", "cat",
           "∂/∂tensors.i = the slice of grad along dim where tensors.i sits",
           attrs=(_count("joined"), Attr("dim", "int", 0, doc="the dimension the tensors are joined along")),
           example_shapes={"tensors": (2, 3)}, example_attrs={VARIADIC_COUNT: 3, "dim": 1}, variadic=True),
    OpSpec("stack", "torch.stack", ("tensors",), "shape", "stack",
           "∂/∂tensors.i = grad selected at index i of the new dimension",
           attrs=(_count("stacked"), Attr("dim", "int", 0, doc="where the new dimension goes")),
           example_shapes={"tensors": (2, 3)}, example_attrs={VARIADIC_COUNT: 3, "dim": -1}, variadic=True),
    OpSpec("split", "torch.split", ("tensor",), "shape", "split",
           "∂/∂tensor = grad in this piece's slice along dim, 0 elsewhere",
           attrs=(Attr("split_size_or_sections", "ints", [1, 1], required=True,
                       doc="the sizes of the pieces along dim (import writes torch's one size out as a list)"),
                  Attr("dim", "dim", 0, doc="the dimension split"), _PIECE),
           example_shapes={"tensor": (2, 3)},
           example_attrs={"split_size_or_sections": [2, 1], "dim": 1, "index": 1},
           result_item="index"),
    OpSpec("chunk", "torch.chunk", ("input",), "shape", "chunk",
           "∂/∂input = grad in this chunk's slice along dim, 0 elsewhere",
           attrs=(Attr("chunks", "int", 2, required=True, doc="how many pieces (the last may be smaller)"),
                  Attr("dim", "dim", 0, doc="the dimension split"), _PIECE),
           example_shapes={"input": (2, 5)}, example_attrs={"chunks": 3, "dim": 1, "index": 2},
           result_item="index", keeps_finite=True,
           partial_reveals=("input",)),
]
