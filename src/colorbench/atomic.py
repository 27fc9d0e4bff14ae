"""Atomic outputs: a stage writes into a temporary sibling and renames at the end,
so a killed stage never leaves a partial output for DVC to cache.

- Temporary siblings are named `.<name>.tmp-<pid>-<random>`: a later `atomic_dir` in the
  same folder (or `clear_stale`) removes those of dead processes (SIGKILL, power loss), so
  they never pile up.
- Outputs get ordinary permissions: what the umask allows (mkstemp/mkdtemp alone give
  0600/0700).
- `atomic_dir` holds an exclusive lock per output (`.<name>.lock` next to it, removed after)
  so two writers of one folder refuse clearly instead of racing.
- `atomic_path` hands out `<tmp folder>/<final name>`: libraries that record the file name
  (torch.save names its zip records after it) write the same bytes as under the final name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from colorbench.errors import ColorbenchError


def umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the usual read-and-restore
    os.umask(mask)
    return mask


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clear_stale(target: str | os.PathLike, *, any_name: bool = False) -> list[Path]:
    """Remove `target`'s temporary siblings (`.<name>.tmp-*`, `.<name>.old-*`; with
    `any_name`, those of every name in its folder) left by processes that are no longer
    running; returns what was removed. Siblings without a pid (older colorbench versions)
    count as stale. (One folder listing: not for a per-image write.)"""
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    name = r".+" if any_name else re.escape(target.name)
    pattern = re.compile(rf"\.{name}\.(?:tmp|old)-(?:(\d+)(?:-|$))?")
    removed = []
    for entry in parent.iterdir():
        m = pattern.match(entry.name)
        if not m or (m.group(1) and _pid_alive(int(m.group(1)))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def output_lock(target: str | os.PathLike) -> Iterator[None]:
    """Exclusive lock on writing `target` (a lock file next to it, deleted on release);
    a second writer gets a ColorbenchError at once instead of racing the first."""
    target = Path(target)
    lock = target.with_name(f".{target.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ColorbenchError(
                f"{target} is being written by another process; wait for it to finish "
                f"(or stop it) and run again"
            ) from None
        # The holder before us may have deleted the lock file after we opened it: retry
        # on the file now at that path, so two writers never hold two different files.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        Path(lock).unlink(missing_ok=True)
        os.close(fd)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to `target`; on success it replaces `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(target):
        clear_stale(target, any_name=True)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
        os.chmod(tmp, 0o777 & ~umask())
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        if target.exists() or target.is_symlink():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary sibling of `target` for writing; rename over `target` on success."""
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path with `target`'s own file name (in a temporary sibling folder),
    for libraries that want a path (torch.save, PIL); renamed over `target` on success."""
    t = Path(target)
    t.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=_tmp_prefix(t), dir=t.parent))
    tmp = folder / t.name
    try:
        tmp.touch()  # created with the umask's permissions, like any ordinary file
        yield tmp
        os.replace(tmp, t)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
