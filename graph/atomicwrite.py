"""Writing a file atomically: a temporary file in the same folder, flushed, then renamed over the
path, so a file is never half-written (Save, `gradcanvas export -o`, `render -o`, autosave).
graph.fileformat re-exports these names."""

from __future__ import annotations

import errno
import glob
import os
import secrets
import stat
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"
STALE_TEMP_S = 600  # a temporary file this old is left from a write that was killed
NAME_MAX = 255  # bytes in one file name, on nearly every file system
_RANDOM_CHARS = 8  # the temporary file's random part
# ".", ".", the random part and the suffix around the name in `.NAME.XXXXXXXX.tmp`
_TEMP_EXTRA = 2 + _RANDOM_CHARS + len(TEMP_SUFFIX)


def _temp_stem(path: Path) -> str:
    """The NAME in the temporary file's name: path's own name, cut short enough (in bytes) that
    the temporary file's name fits NAME_MAX where path's does."""
    name, room = os.fsencode(path.name), NAME_MAX - _TEMP_EXTRA
    return path.name if len(name) <= room else name[:room].decode("utf-8", "ignore")  # no half a character


def _open_temp(path: Path, mode: int) -> tuple[int, Path]:
    """A new hidden file `.NAME.XXXXXXXX.tmp` beside path, open for writing. It is created with
    `mode`, which the system masks with the umask as for any new file (reading the umask would
    mean setting it: os.umask, process-wide, under threads that create files)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    stem = _temp_stem(path)
    for _ in range(100):
        tmp = path.parent / f".{stem}.{secrets.token_hex(_RANDOM_CHARS // 2)}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:  # one chance in 2**32 per try
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def _remove_stale_temporaries(path: Path) -> None:
    """Remove `.NAME.*.tmp` files beside path that an interrupted write left (a kill between
    writing and renaming): old ones only, so a write in progress elsewhere is not disturbed."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(_temp_stem(path))}.*{TEMP_SUFFIX}"):
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
    # An existing file's mode is kept (set exactly: the umask may have taken bits off it at
    # creation); a new file gets the usual one, 0666 less the umask.
    fd, tmp = _open_temp(path, 0o666 if st is None else st.st_mode & 0o777)
    try:
        with os.fdopen(fd, "wb") as f:
            if st is not None:
                os.chmod(tmp, st.st_mode & 0o777)
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
