"""Writing a file atomically: a temporary file in the same folder, flushed, then renamed over the
path, so a file is never half-written (Save, `gradcanvas export -o`, `render -o`, autosave).
graph.fileformat re-exports these names."""

from __future__ import annotations

import errno
import glob
import os
import stat
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"
STALE_TEMP_S = 600  # a temporary file this old is left from a write that was killed


def _remove_stale_temporaries(path: Path) -> None:
    """Remove `.NAME.*.tmp` files beside path that an interrupted write left (a kill between
    writing and renaming): old ones only, so a write in progress elsewhere is not disturbed."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"):
        try:
            st = tmp.lstat()
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether the two paths are one file (the same name, a symlink or a hard link to it): a write
    to one would replace the other. False where either is not there (or is no path at all)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # not there yet; a NUL in a name
        return False


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a temporary file in the same folder, flush it, then rename it over path.

    A symlink is followed: its target is replaced (atomically) and the link stays. An existing
    path that is not a regular file (a FIFO, a device, a folder), or is read-only, is refused,
    never replaced. A
    hard link to the old file keeps the old content (the path gets a new file). Temporary files
    left by an earlier interrupted write of the same file are removed.
    """
    path = Path(os.path.realpath(path))  # follow symlinks: write where the link points
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO or a device)"
        raise OSError(errno.EEXIST, f"it is {kind}: refusing to replace it")
    # The rename needs only the folder's permission: a read-only file would be replaced as if it
    # were not. Refuse it, as a plain write would (and when no write bit is set at all, even for
    # root, who may write anything: the mode says the file is not to be changed).
    if st is not None and (not st.st_mode & 0o222 or not os.access(path, os.W_OK)):
        raise PermissionError(errno.EACCES, "the file is read-only: refusing to replace it")
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        # mkstemp makes the file 0600; keep an existing file's mode, else the usual umask one.
        if st is not None:
            mode = st.st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
