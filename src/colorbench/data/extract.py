"""Safe archive extraction (zip, tar, tar.gz/bz2/xz).

Nothing an archive contains may land outside the target: members with absolute paths,
`..` components, links that point outside, and special files (devices, fifos) are refused
with a ColorbenchError naming the member. Extraction goes into a temporary sibling of the
target and is moved into place only when the whole archive has been read.

Archive bombs: extraction stops with an error once the bytes written exceed `max_bytes`
(default: the free space of the target's file system), and a zip whose declared sizes
already exceed it is refused before anything is written.

`limit` keeps a deterministic subset: the `limit` accepted files whose hash of
(seed, member name) is smallest. Tar archives are read in one streaming pass (a heap of
the current best `limit` members; evicted files are deleted), so memory stays bounded on
archives with millions of members.
"""

from __future__ import annotations

import fnmatch
import hashlib
import heapq
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from colorbench.errors import ColorbenchError

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def glob_filter(patterns: Iterable[str] | None) -> Callable[[str], bool] | None:
    """A member-name predicate from glob patterns (None = everything)."""
    pats = list(patterns or [])
    if not pats:
        return None
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in pats)


def member_path(name: str, archive: Path) -> str | None:
    """The normalised relative path of a member; None for the archive root ('./').

    Refuses absolute paths (POSIX, Windows drive or UNC) and any `..` component.
    """
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ColorbenchError(
            f"{archive.name}: refusing member {name!r} (absolute path); the archive is unsafe"
        )
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ColorbenchError(
            f"{archive.name}: refusing member {name!r} ('..' escapes the target); the archive is unsafe"
        )
    return "/".join(parts) or None


def _link_inside(name: str, target: str, archive: Path, *, hard: bool) -> str:
    """The archive-relative path a link points to; refuses targets outside the root."""
    t = target.replace("\\", "/")
    resolved = posixpath.normpath(t if hard else posixpath.join(posixpath.dirname(name), t))
    if t.startswith("/") or resolved == ".." or resolved.startswith("../"):
        kind = "hardlink" if hard else "symlink"
        raise ColorbenchError(
            f"{archive.name}: refusing member {name!r} ({kind} to {target!r} escapes the target); "
            f"the archive is unsafe"
        )
    return resolved


def _within(root: Path, path: Path) -> bool:
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def _guard(root: Path, rel: str, archive: Path, name: str) -> Path:
    """`root/rel`, after checking that no link already extracted redirects it outside."""
    path = root / rel
    if not _within(root, path.parent):
        raise ColorbenchError(
            f"{archive.name}: refusing member {name!r} (it would be written through a link "
            f"outside the target); the archive is unsafe"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class _Budget:
    """Bytes an extraction may still write; exceeding it is an archive bomb (or no room)."""

    def __init__(self, max_bytes: int, archive: Path) -> None:
        self.left, self.max, self.archive = max_bytes, max_bytes, archive

    def refuse(self, what: str) -> ColorbenchError:
        return ColorbenchError(
            f"{self.archive.name}: {what} more than {self.max} bytes (the extraction size "
            "limit: free disk space, or max_bytes); refusing it as an archive bomb"
        )

    def copy(self, src, dst) -> None:
        while chunk := src.read(1 << 20):
            self.left -= len(chunk)
            if self.left < 0:
                raise self.refuse("expands to")
            dst.write(chunk)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class _Subset:
    """The `limit` smallest keys seen so far (a max-heap); decides what to keep."""

    def __init__(self, limit: int | None, seed: int) -> None:
        self.limit, self.seed = limit, seed
        self.heap: list[tuple[int, str]] = []  # (-key, rel)
        self.kept: set[str] = set()

    def key(self, rel: str) -> int:
        digest = hashlib.blake2b(f"{self.seed}\0{rel}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def offer(self, rel: str) -> tuple[bool, str | None]:
        """(keep this one?, the previously kept one to evict, if any)."""
        if self.limit is None or rel in self.kept:  # a repeated name overwrites its first copy
            return True, None
        k = self.key(rel)
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, (-k, rel))
            self.kept.add(rel)
            return True, None
        if self.limit == 0 or k >= -self.heap[0][0]:
            return False, None
        _, evicted = heapq.heapreplace(self.heap, (-k, rel))
        self.kept.discard(evicted)
        self.kept.add(rel)
        return True, evicted


def _extract_zip(
    archive: Path,
    tmp: Path,
    accept: Callable[[str], bool] | None,
    subset: _Subset,
    budget: _Budget,
) -> int:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        plan = []  # validate every member before writing anything
        for info in infos:
            rel = member_path(info.filename, archive)
            if rel is None:
                continue
            mode = info.external_attr >> 16
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)
                                          or stat.S_ISLNK(mode)):  # fmt: skip
                raise ColorbenchError(
                    f"{archive.name}: refusing member {info.filename!r} (special file: device, "
                    "fifo or socket)"
                )
            if stat.S_ISLNK(mode):
                target = zf.read(info).decode("utf-8", "replace")
                plan.append((info, rel, _link_inside(rel, target, archive, hard=False)))
            else:
                plan.append((info, rel, None))
        files = [(i, r, t) for i, r, t in plan if not i.is_dir() and (accept is None or accept(r))]
        if subset.limit is not None:
            files = sorted(files, key=lambda f: subset.key(f[1]))[: subset.limit]
        if sum(i.file_size for i, _, _ in files) > budget.left:  # declared sizes: before writing
            raise budget.refuse("declares")
        for info, rel, _ in plan:
            if info.is_dir() and subset.limit is None and accept is None:
                _guard(tmp, rel, archive, info.filename).mkdir(exist_ok=True)
        for info, rel, target in files:
            path = _guard(tmp, rel, archive, info.filename)
            if target is not None:
                link = posixpath.relpath(target, posixpath.dirname(rel) or ".")
                os.symlink(link, path)
                continue
            with zf.open(info) as src, open(path, "wb") as dst:
                budget.copy(src, dst)
        return len(files)


def _extract_tar(
    archive: Path,
    tmp: Path,
    accept: Callable[[str], bool] | None,
    subset: _Subset,
    budget: _Budget,
) -> int:
    kept = 0
    with tarfile.open(archive, "r:*") as tf:
        while (m := tf.next()) is not None:
            if len(tf.members) > 4096:  # tarfile keeps every header; millions would not fit
                tf.members.clear()
            rel = member_path(m.name, archive)
            if rel is None:
                continue
            if m.issym() or m.islnk():
                target = _link_inside(rel, m.linkname, archive, hard=m.islnk())
            elif not (m.isfile() or m.isdir()):
                raise ColorbenchError(
                    f"{archive.name}: refusing member {m.name!r} (special file: device or fifo)"
                )
            if m.isdir():
                if subset.limit is None and accept is None:
                    _guard(tmp, rel, archive, m.name).mkdir(exist_ok=True)
                continue
            if accept is not None and not accept(rel):
                continue
            keep, evicted = subset.offer(rel)
            if evicted is not None:
                _remove(tmp / evicted)
                kept -= 1
            if not keep:
                continue
            path = _guard(tmp, rel, archive, m.name)
            if path.exists() or path.is_symlink():  # a later member of the same name wins
                _remove(path)
                kept -= 1
            if m.issym():
                os.symlink(m.linkname, path)
                if not _within(tmp, path):
                    raise ColorbenchError(
                        f"{archive.name}: refusing member {m.name!r} (symlink resolves outside "
                        f"the target); the archive is unsafe"
                    )
            elif m.islnk():
                source = tmp / target
                if not source.is_file() or not _within(tmp, source):
                    raise ColorbenchError(
                        f"{archive.name}: refusing member {m.name!r} (hardlink to {m.linkname!r}, "
                        f"which is not an extracted file)"
                    )
                shutil.copyfile(source, path)
            else:
                src = tf.extractfile(m)
                if src is None:  # pragma: no cover - isfile() members always have data
                    continue
                with src, open(path, "wb") as dst:
                    budget.copy(src, dst)
                if m.mode & 0o111:
                    os.chmod(path, 0o755)
            kept += 1
    return kept


def _prune_empty_dirs(root: Path) -> None:
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        if Path(dirpath) != root and not os.listdir(dirpath):
            os.rmdir(dirpath)


def safe_extract(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    accept: Callable[[str], bool] | None = None,
    limit: int | None = None,
    seed: int = 0,
    max_bytes: int | None = None,
) -> int:
    """Extract `archive` into `dest` (created if missing); returns the number of files kept.

    Each top-level entry of the archive replaces the same-named entry of `dest` only after
    the whole archive extracted cleanly. `accept(relative_path)` filters files; `limit`
    keeps a deterministic subset of at most that many accepted files (chosen by `seed`).
    `max_bytes` caps what extraction writes (default: the free space where it writes).
    """
    archive, dest = Path(archive), Path(dest)
    if limit is not None and int(limit) < 0:
        raise ColorbenchError(f"limit must be >= 0 (got {limit})")
    subset = _Subset(None if limit is None else int(limit), int(seed))
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.extract-", dir=dest.parent))
    if max_bytes is None:
        max_bytes = shutil.disk_usage(tmp).free
    budget = _Budget(int(max_bytes), archive)
    try:
        name = archive.name.lower()
        as_tar = name.endswith(_TAR_SUFFIXES)
        if not as_tar and (name.endswith(".zip") or zipfile.is_zipfile(archive)):
            kept = _extract_zip(archive, tmp, accept, subset, budget)
        elif tarfile.is_tarfile(archive):
            kept = _extract_tar(archive, tmp, accept, subset, budget)
        else:
            raise ColorbenchError(
                f"{archive.name}: neither a zip nor a tar archive; delete it and download again"
            )
        if accept is not None or limit is not None:
            _prune_empty_dirs(tmp)
        for entry in sorted(os.listdir(tmp)):
            target = dest / entry
            if target.exists() or target.is_symlink():
                _remove(target)
            os.replace(tmp / entry, target)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise ColorbenchError(f"{archive.name}: extraction failed ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return kept
