"""Installing pretrained weights into the cache: `fetch` (a resumable, verified download)
and `import_dir` (files fetched elsewhere), each verified before an atomic install; the
registry and the checks are colorbench.weights."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.weights import (
    REGISTRY,
    cache_path,
    check_file,
    entry,
    file_digest,
    how_to_install,
    sidecar,
    stat_key,
)


def _download(url: str, dest: Path, expected_size: int | None) -> None:
    """Stream `url` into `dest`, resuming a partial `dest` with an HTTP Range request."""
    import requests
    from tqdm import tqdm

    have = dest.stat().st_size if dest.exists() else 0
    if expected_size is not None and have > expected_size:
        dest.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=60) as r:
            if r.status_code == 416:  # range past the end: the partial file is complete
                return
            r.raise_for_status()
            if have and r.status_code != 206:  # server ignored Range: start over
                have = 0
            total = int(r.headers.get("Content-Length", 0)) + have or expected_size
            with (
                open(dest, "ab" if have else "wb") as fh,
                tqdm(
                    total=total,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    file=sys.stderr,
                ) as bar,
            ):
                for block in r.iter_content(chunk_size=1 << 20):
                    fh.write(block)
                    bar.update(len(block))
    except requests.RequestException as exc:
        raise ColorbenchError(
            f"download of {url} failed ({exc}); rerun to resume, or use "
            "`colorbench weights import DIR` with files fetched elsewhere"
        ) from None


def fetch(name: str, *, log: Callable[[str], None] = print) -> Path:
    """Download `name` into the cache (resumable), verify it, and install it atomically."""
    e = entry(name)
    path = cache_path(name)
    if path.is_file() and check_file(e, path) is None:
        log(f"{name}: already present at {path}")
        return path
    if not e.url:
        raise ColorbenchError(f"'{name}' has no public download; " + how_to_install(e))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    _download(e.url, part, e.size)
    reason = check_file(e, part)
    if reason is not None:
        part.unlink(missing_ok=True)
        sidecar(part).unlink(missing_ok=True)
        raise ColorbenchError(
            f"downloaded {e.file} failed verification ({reason}); the partial file was removed, "
            f"rerun `colorbench weights fetch {name}`"
        )
    _install(part, path)
    log(f"{name}: fetched and verified -> {path}")
    return path


def _install(src: Path, path: Path) -> None:
    """Move a verified `src` to `path`, carrying its sidecar so it is not re-hashed."""
    digest = file_digest(src)
    os.replace(src, path)
    sidecar(src).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        sidecar(path).write_text(json.dumps({**stat_key(path), "sha256": digest}))


@dataclass
class ImportResult:
    installed: list[str] = dataclasses.field(default_factory=list)
    mismatched: list[str] = dataclasses.field(default_factory=list)  # "name: reason"
    not_found: list[str] = dataclasses.field(default_factory=list)


# Files with no pinned size or digest are load-checked before they are installed: a file
# that does not load into its network is refused at import, not at first use.
LOAD_CHECKS: dict[str, str] = {"u2netp": "colorbench.saliency.deep:load_u2netp"}


def load_check(name: str, path: Path) -> str | None:
    """None when `path` loads into `name`'s network (or `name` has no load check)."""
    target = LOAD_CHECKS.get(name)
    if target is None:
        return None
    import importlib

    module, fn = target.split(":")
    try:
        getattr(importlib.import_module(module), fn)(path)
    except ColorbenchError as exc:
        return f"content that does not load ({exc})"
    return None


def import_dir(src_dir: Path, names: Iterable[str] | None = None) -> ImportResult:
    """Copy registry files found in `src_dir` (by file name, searched recursively) into the
    cache after verifying them; a file that fails verification is reported, not copied."""
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise ColorbenchError(f"{src_dir} is not a directory; pass the folder holding the files")
    wanted = {entry(n).file: entry(n) for n in (names or REGISTRY)}
    found: dict[str, Path] = {}
    for p in sorted(src_dir.rglob("*")):
        if p.is_file() and p.name in wanted and p.name not in found:
            found[p.name] = p
    result = ImportResult()
    for file, e in wanted.items():
        src = found.get(file)
        if src is None:
            result.not_found.append(e.name)
            continue
        reason = check_file(e, src)
        if reason is None and e.expected_prefix is None:
            reason = load_check(e.name, src)
        if reason is not None:
            result.mismatched.append(f"{e.name}: {src} has {reason}")
            continue
        dest = cache_path(e.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.import-{os.getpid()}")
        shutil.copyfile(src, tmp)
        reason = check_file(e, tmp)  # the copy itself, not only the source
        if reason is not None:
            tmp.unlink(missing_ok=True)
            sidecar(tmp).unlink(missing_ok=True)
            result.mismatched.append(f"{e.name}: copy to {dest} has {reason}")
            continue
        _install(tmp, dest)
        result.installed.append(e.name)
    return result
