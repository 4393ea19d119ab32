"""Jobs in the compute process (autograd_bridge.compute_process), seen from the window.

The child starts with the first job, lives as long as the window, and ends when the window
closes its input. A child that stops (a crash in torch or in an imported script's code, or
killed) loses only the job it ran: that job's result says so (jobs.lost_result) and the next
job starts a fresh child, which compiles again. A Cancel the child does not honour within
KILL_AFTER_CANCEL_MS (one long kernel between two op boundaries) ends the child the same way;
the timer counts only once the child has imported torch (its "ready"), which no Cancel can cut.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from autograd_bridge.compute_process import FrameReader, GraphArg, frame
from autograd_bridge.jobs import COMPUTE, lost_result
from graph.model import Graph

KILL_AFTER_CANCEL_MS = 2000
ROOT = str(Path(__file__).resolve().parent.parent)  # where the autograd_bridge package lives


class _Signals(QObject):
    done = Signal(int, object)  # job id, result
    progress = Signal(int, object)  # job id, payload


class ProcessRunner(QObject):
    failedToStart = Signal(str)  # why: the Computer falls back to a thread
    said = Signal(str)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        from autograd_bridge.wire import GraphSender

        self.signals = _Signals(self)
        self.proc: QProcess | None = None
        self.reader = FrameReader()
        self.graphs = GraphSender()
        self.running: tuple[int, str, object, tuple] | None = None  # (job id, kind, fn, args)
        self._killed_for_cancel = False
        self.ready = False  # the child has imported torch: a Cancel it ignores now is a stuck op
        self._cancel_sent_for: int | None = None  # the job id of the last Cancel sent
        self._deferred: list[tuple[int, object]] = []  # (job id, result) answered here, to deliver
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_CANCEL_MS)
        self._kill_timer.timeout.connect(self._kill_stuck)
        self.starts = 0  # children started, for tests

    # ---- the child ----

    def warm_up(self) -> None:
        self._ensure_child()

    def _ensure_child(self) -> bool:
        if self.proc is not None:
            return True
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        paths = [ROOT, *filter(None, [env.value("PYTHONPATH")])]
        env.insert("PYTHONPATH", os.pathsep.join(paths))
        proc.setProcessEnvironment(env)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(lambda code, status, proc=proc: self._ended(proc, code, status))
        # -P: the working folder is not put on sys.path, so a torch.py or numpy.py lying where
        # the app was started from is never imported in place of the real one.
        proc.start(sys.executable, ["-P", "-m", "autograd_bridge.compute_process"])
        if not proc.waitForStarted(10_000):
            why = f"the compute process did not start: {proc.errorString()}"
            proc.deleteLater()
            self.failedToStart.emit(why)
            return False
        self.proc, self.reader, self.ready = proc, FrameReader(), False
        self.graphs.reset()  # a fresh child holds no graph yet
        self.starts += 1
        return True

    def _ended(self, proc: QProcess, code: int, status: QProcess.ExitStatus) -> None:
        if proc is not self.proc or not shiboken6.isValid(proc):
            return  # an old child's, or the window is being torn down
        killed, self._killed_for_cancel = self._killed_for_cancel, False  # never left set for the next job
        self._read()  # a result written just before the end still counts
        self.proc = None
        proc.deleteLater()
        if self.running is None:
            return
        job_id, kind, _fn, args = self.running
        self.running = None
        self._kill_timer.stop()
        if killed:
            why, cancelled = "cancelled: the compute process was ended and starts again", True
        else:
            crashed = status == QProcess.ExitStatus.CrashExit
            why = (f"the compute process stopped ({'crashed' if crashed else f'exit status {code}'}) "
                   f"during {kind}; it starts again on the next compute")
            cancelled = False
        self.said.emit(why)
        self.signals.done.emit(job_id, lost_result(kind, args, why, cancelled))

    def _kill_stuck(self) -> None:
        if self.running is not None and self.proc is not None:
            self._killed_for_cancel = True
            self.proc.kill()

    # ---- jobs ----

    def start(self, job_id: int, kind: str, fn: object, args: tuple, cancelled: bool = False) -> None:
        if not self._ensure_child():
            return
        self.running, self._killed_for_cancel = (job_id, kind, fn, args), False
        sent = tuple(GraphArg(self.graphs.message(a)) if isinstance(a, Graph) else a for a in args)
        self.proc.write(frame(("job", job_id, kind, fn, sent)))
        if cancelled:
            self.cancel(job_id)

    def cancel(self, job_id: int) -> None:
        if self.proc is not None and self.running is not None and self.running[0] == job_id:
            self.proc.write(frame(("cancel", job_id)))
            self._cancel_sent_for = job_id
            if self.ready:
                self._kill_timer.start()
            else:  # still importing torch: the job has not begun, so it is cancelled now
                _job_id, kind, _fn, args = self.running
                self.running = None
                # Delivered after the caller's own reaction to cancel(), as a result from the
                # child would be (or by wait()).
                self._deferred.append((job_id, lost_result(kind, args, "", cancelled=True)))
                QTimer.singleShot(0, self, self._deliver_deferred)

    def _deliver_deferred(self) -> None:
        while self._deferred:
            self.signals.done.emit(*self._deferred.pop(0))

    def _read(self) -> None:
        if self.proc is None:
            return
        from autograd_bridge.wire import decode_result

        try:
            messages = self.reader.feed(bytes(self.proc.readAllStandardOutput()))
        except Exception:  # noqa: BLE001 - not a frame: something printed there before main (a sitecustomize)
            self.running = None  # the Computer runs it again, on a thread
            self.close()
            self.failedToStart.emit("the compute process wrote something other than its frames on its output")
            return
        for message in messages:
            what, job_id, payload = message
            if what == "ready":
                self.ready = True
                if self.running is not None and self._cancel_sent_for == self.running[0]:
                    self._kill_timer.start()
            elif what == "resync" and self.running is not None and self.running[0] == job_id:
                self.graphs.reset()
                self.start(job_id, *self.running[1:], cancelled=self._cancel_sent_for == job_id)
            elif what == "progress":
                self.signals.progress.emit(job_id, payload)
            elif what == "done" and self.running is not None and self.running[0] == job_id:
                kind = self.running[1]
                self.running = None
                self._kill_timer.stop()
                if kind == COMPUTE:
                    # Decoded now, shown after the event loop has had a turn (a timer, not a
                    # zero one, which would run before input and other timers already due): for
                    # a 10,000-node result the GUI thread is busy twice briefly (~20 ms, ~50 ms
                    # here), not once for both.
                    self._deferred.append((job_id, decode_result(payload)))
                    QTimer.singleShot(1, self, self._deliver_deferred)
                else:
                    self.signals.done.emit(job_id, payload)

    def active(self) -> bool:
        return self.running is not None or bool(self._deferred)

    def wait(self, msecs: int) -> bool:
        """Deliver results until no job runs, or msecs have passed."""
        deadline = time.monotonic() + msecs / 1000
        while time.monotonic() < deadline:
            if self._deferred:
                self._deliver_deferred()  # may start the next job
                continue
            if self.running is None or self.proc is None:
                break
            proc, left = self.proc, int((deadline - time.monotonic()) * 1000)
            if not proc.waitForReadyRead(max(1, left)) and proc.state() == QProcess.ProcessState.NotRunning:
                proc.waitForFinished(0)  # delivers `finished`: the job is lost
        return not self.active()

    def close(self) -> None:
        """End the child now: closing its input ends it even mid-op; kill makes sure."""
        proc, self.proc, self.running = self.proc, None, None
        self._deferred.clear()
        self._kill_timer.stop()
        if proc is not None:
            proc.closeWriteChannel()
            if not proc.waitForFinished(200):
                proc.kill()
                proc.waitForFinished(1000)
