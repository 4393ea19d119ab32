"""The compute process: the app's worker as a child process, so the window never imports torch.

`python -m autograd_bridge.compute_process` serves one window (gui.worker.Computer starts it).
Why a process: torch adds ~200 MB to any process that imports it and holds the GIL for tens
to hundreds of ms in `import torch` and in `compile()` of big sources; a crash in torch or in
an imported script's code would end the window too; and an op that ignores Cancel (one long
kernel) can only be stopped by ending the process. Here the window keeps its memory small and
its event loop free, and survives all of these.

Protocol: frames on the child's stdin and stdout, each an 8-byte little-endian length and a
pickle. Both ends are this program's own code (the window starts the child with its own
interpreter), so pickle is safe here; files users open are never pickled.

  window -> child   ("job", job_id, kind, fn, args)   fn(session, cancel, *args): jobs.run_job
                    ("cancel", job_id)                 stop that job at its next op boundary
  child -> window   ("ready", 0, None)                 torch is imported: jobs run from now on
                    ("done", job_id, result)
                    ("progress", job_id, payload)      ComputeSession.report(payload) by a task
                    ("resync", job_id, None)           a graph delta did not apply: send it whole

A graph in a job's args travels as a GraphArg holding a wire.GraphSender message (the nodes
that changed since the last job), a compute's result as wire.encode_result: plain pickle of
either costs the window's thread ~0.2 s at 10,000 nodes.
End of stdin (the window closed or died) ends the child at once, even mid-op.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import sys
import threading
import traceback

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from autograd_bridge.jobs import COMPUTE, NOT_CANCELLABLE, run_job
from autograd_bridge.wire import GraphReceiver, encode_result

HEADER = struct.Struct("<Q")
MAX_FRAME = 1 << 34  # a frame is this program's own data; a bigger length means a broken pipe


def frame(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class FrameReader:
    """Frames from bytes that arrive in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[object]:
        self._buffer += data
        out, start = [], 0
        while len(self._buffer) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer, start)
            if size > MAX_FRAME:
                raise ValueError(f"broken frame of {size} bytes")
            end = start + HEADER.size + size
            if len(self._buffer) < end:
                break
            out.append(pickle.loads(memoryview(self._buffer)[start + HEADER.size:end]))
            start = end
        if start:
            del self._buffer[:start]
        return out


def _read_exactly(stream, n: int) -> bytes | None:  # noqa: ANN001 - a binary file
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class GraphArg:
    """A job argument that is a graph, as a wire.GraphSender message."""

    __slots__ = ("message",)

    def __init__(self, message: object) -> None:
        self.message = message

    def __reduce__(self) -> tuple:
        return GraphArg, (self.message,)


class _Server:
    def __init__(self, frames_in, frames_out) -> None:  # noqa: ANN001 - binary files
        self.frames_in, self.frames_out = frames_in, frames_out
        self.session = ComputeSession()
        self.graphs = GraphReceiver()
        self.jobs: queue.Queue = queue.Queue()
        self.lock = threading.Lock()  # guards `running` and writes to frames_out
        self.running: tuple[int, object] | None = None  # (job id, its CancelToken or None)
        self.cancelled: set[int] = set()  # jobs cancelled before they started

    def send(self, message: object) -> None:
        data = frame(message)
        with self.lock:
            self.frames_out.write(data)
            self.frames_out.flush()

    def read_forever(self) -> None:
        """On its own thread: every message to `take`, until the end of input."""
        while True:
            header = _read_exactly(self.frames_in, HEADER.size)
            body = None if header is None else _read_exactly(self.frames_in, HEADER.unpack(header)[0])
            if body is None:
                return
            self.take(pickle.loads(body))

    def take(self, message: tuple) -> None:
        """A job goes to the queue; a cancel lands at once on the running job, or is kept for a
        job not started yet (the window may have sent several jobs and their cancels while this
        child was importing torch: it has given up on them, and each must stop at once)."""
        if message[0] == "job":
            self.jobs.put(message)
        elif message[0] == "cancel":
            with self.lock:
                if self.running is not None and self.running[0] == message[1]:
                    if self.running[1] is not None:
                        self.running[1].cancel()
                else:
                    self.cancelled.add(message[1])

    def serve(self) -> None:
        while True:
            self.serve_one()

    def serve_one(self) -> None:
        _, job_id, kind, fn, args = self.jobs.get()
        try:
            args = tuple(self.graphs.apply(a.message) if isinstance(a, GraphArg) else a for a in args)
        except ValueError:  # a delta this child cannot apply: the window sends the whole graph
            self.send(("resync", job_id, None))
            return
        cancel = None if kind in NOT_CANCELLABLE else CancelToken()
        with self.lock:
            self.running = (job_id, cancel)
            if job_id in self.cancelled and cancel is not None:
                cancel.cancel()
            # Job ids only grow: cancels of jobs up to this one are done with, later ones kept.
            self.cancelled = {i for i in self.cancelled if i > job_id}
        self.session.report = lambda payload, job_id=job_id: self.send(("progress", job_id, payload))
        result = run_job(self.session, kind, fn, args, cancel)
        with self.lock:
            self.running = None
        if kind == COMPUTE:
            result = encode_result(result)
        self.send(("done", job_id, result))


def main() -> None:
    # Frames own the real stdin and stdout; anything else that prints (an imported script, a
    # C library) goes to stderr, and nothing can read the frames as its own input.
    frames_in = os.fdopen(os.dup(0), "rb", buffering=0)
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    server = _Server(frames_in, frames_out)
    threading.Thread(target=_or_end, args=(server.read_forever,), kwargs={"then": 0}, name="frames-in",
                     daemon=True).start()
    # torch first (a second or more), jobs after: a Cancel can then only wait for an op, never
    # for this import, and the window arms its kill timer only once it hears "ready".
    import torch  # noqa: F401

    server.send(("ready", 0, None))
    _or_end(server.serve)


BROKEN = 70  # the exit status of a child whose own code failed (EX_SOFTWARE)


def _or_end(loop, then: int | None = None) -> None:  # noqa: ANN001 - one of the server's loops
    """Run a loop of the server; if it fails (a bug: jobs' own failures are results), end the
    process with the traceback on stderr, so the window reports the job lost and starts a
    fresh child, instead of waiting for ever on a child that has a dead thread. A loop that
    returns ends the process with status `then` (the reader at the end of input: the window is
    gone, and nobody wants what runs now)."""
    try:
        loop()
    except BaseException:  # noqa: BLE001 - whatever it was, this child can no longer serve
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        os._exit(BROKEN)
    if then is not None:
        os._exit(then)


if __name__ == "__main__":
    # Run as the package's module, not as __main__: a GraphArg from the window must be an
    # instance of the class `serve` checks for.
    from autograd_bridge.compute_process import main as package_main

    package_main()
