"""Atomic outputs: a stage writes into a temporary sibling and renames at the end,
so a killed stage never leaves a partial output for DVC to cache."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to `target`; on success it replaces `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
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
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_path(target: str | os.PathLike) -> contextlib.AbstractContextManager[Path]:
    """Yield a temporary file path next to `target` (for libraries that want a path,
    e.g. torch.save or PIL); renamed over `target` on success."""

    @contextlib.contextmanager
    def _cm() -> Iterator[Path]:
        t = Path(target)
        t.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{t.name}.tmp-", suffix=t.suffix, dir=t.parent)
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, t)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    return _cm()
