"""Resumable, verified HTTP downloads into a cache outside DVC's outputs.

- streams to `<file>.part` with a tqdm bar; a later call resumes it with an HTTP Range
  request (a server that ignores Range simply restarts the file);
- retries connection errors, truncated bodies, 5xx and 429 with exponential backoff
  (an attempt that made progress does not count against the limit);
- verifies size and md5/sha256 when known: a mismatch deletes the file and raises a
  ColorbenchError naming expected and actual values;
- renames to the final name only once verified, so the cache never holds a bad file;
- an archive placed by hand in the cache is used as is, with no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from colorbench.errors import ColorbenchError

ENV_DOWNLOADS = "COLORBENCH_DOWNLOADS"
DEFAULT_DOWNLOADS = "data/downloads"
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CHUNK = 1 << 20
_STREAM_CHUNK = 1 << 18


class _Transient(Exception):
    """A failure worth retrying; `wait` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


def downloads_dir(configured: str | os.PathLike | None = None) -> Path:
    """The download cache: $COLORBENCH_DOWNLOADS, else `configured`, else data/downloads."""
    return Path(os.environ.get(ENV_DOWNLOADS) or configured or DEFAULT_DOWNLOADS)


def url_filename(url: str) -> str:
    name = unquote(Path(urlparse(url).path).name)
    if not name:
        raise ColorbenchError(f"cannot derive a file name from URL {url}; give one explicitly")
    return name


def file_digests(path: Path, algorithms: tuple[str, ...] = ("md5",)) -> dict[str, str]:
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            for h in hashers.values():
                h.update(block)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _expected(md5: str | None, sha256: str | None) -> dict[str, str]:
    return {a: v.lower() for a, v in (("md5", md5), ("sha256", sha256)) if v}


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _mismatch(
    path: Path,
    what: str,
    expected: object,
    actual: object,
    name: str | None = None,
    keep: bool = False,
) -> ColorbenchError:
    _stamp(path).unlink(missing_ok=True)
    if keep:  # a file the user placed by hand (no URL to fetch it again): never delete it
        return ColorbenchError(
            f"{name or path.name}: {what} mismatch (expected {expected}, got {actual}); the file "
            f"was kept: replace it, or set its {what} in params if it is a known non-official copy"
        )
    path.unlink(missing_ok=True)
    return ColorbenchError(
        f"{name or path.name}: {what} mismatch (expected {expected}, got {actual}); the file was "
        f"deleted, run again to download it afresh"
    )


def verify(
    path: Path,
    size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    keep: bool = False,
) -> None:
    """Check size and digests; on mismatch delete `path` (unless `keep`) and raise
    ColorbenchError.

    A `.verified` stamp (size, mtime, digests) lets later runs skip re-hashing a large
    archive that has not changed since it was checked.
    """
    st = path.stat()
    if size is not None and st.st_size != int(size):
        raise _mismatch(path, "size", f"{int(size)} bytes", f"{st.st_size} bytes", keep=keep)
    want = _expected(md5, sha256)
    if not want:
        return
    stamp = _stamp(path)
    try:
        rec = json.loads(stamp.read_text())
        same_file = rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns
        if same_file and all(rec.get(a) == v for a, v in want.items()):
            return
    except (OSError, ValueError):
        pass
    got = file_digests(path, tuple(want))
    for algo, value in want.items():
        if got[algo] != value:
            raise _mismatch(path, algo, value, got[algo], keep=keep)
    stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, **got}))


def _short_reason(exc: BaseException) -> str:
    """One line from requests' nested exception text ('[Errno 111] Connection refused')."""
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] [^'\")\]]+", r"Name or service not known", r"timed out"):
        m = re.search(pattern, text)
        if m:
            return m.group(0).strip()
    return (type(exc).__name__ + (f": {text}" if text and len(text) < 120 else "")).replace(
        "\n", " "
    )


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """'bytes 100-199/1000' -> (100, 1000); 'bytes */1000' -> (None, 1000)."""
    m = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    retries: int = 5,
    backoff: float = 2.0,
    max_wait: float = 120.0,
    timeout: float = 60.0,
    progress: bool = True,
    session=None,
) -> Path:
    """Download `url` to `dest` (resuming `dest.part`), verify, rename; return `dest`.

    An existing `dest` is verified and reused without touching the network.
    """
    import requests
    from tqdm import tqdm

    from colorbench import __version__

    dest = Path(dest)
    if dest.exists():
        verify(dest, size, md5, sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    want = _expected(md5, sha256)
    hashers = {a: hashlib.new(a) for a in want}

    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > int(size):
        have = 0
        part.unlink()
    if have:  # the digests must cover the bytes already on disk
        with open(part, "rb") as fh:
            while block := fh.read(_CHUNK):
                for h in hashers.values():
                    h.update(block)

    def restart() -> None:
        nonlocal have, hashers
        have = 0
        hashers = {a: hashlib.new(a) for a in want}
        part.unlink(missing_ok=True)

    sess = session or requests.Session()
    headers = {"User-Agent": f"colorbench/{__version__}", "Accept-Encoding": "identity"}
    failures, connected = 0, False
    try:
        while True:
            if size is not None and have == int(size):
                break
            before = have
            try:
                hdrs = dict(headers, Range=f"bytes={have}-") if have else headers
                with sess.get(url, headers=hdrs, stream=True, timeout=timeout) as resp:
                    connected = True
                    code = resp.status_code
                    if code == 416 and have:
                        _, total = _content_range(resp.headers.get("Content-Range"))
                        if total == have:  # the .part already holds the whole file
                            break
                        restart()
                        continue
                    if code in RETRY_STATUS:
                        raise _Transient(
                            f"HTTP {code} {resp.reason}",
                            _retry_after(resp.headers.get("Retry-After")),
                        )
                    if code >= 400:
                        raise ColorbenchError(
                            f"{url}: HTTP {code} {resp.reason}; check the URL in params.yaml, or "
                            f"download the file by hand to {dest}"
                        )
                    # Keep the bytes of a body cut short (urllib3 would discard the last
                    # partial read); the length check below turns it into a retry.
                    if hasattr(resp.raw, "enforce_content_length"):
                        resp.raw.enforce_content_length = False
                    start, total = _content_range(resp.headers.get("Content-Range"))
                    if code == 206 and have and start == have:
                        mode = "ab"
                    else:  # a full body (server ignored Range, or a fresh start)
                        restart()
                        mode = "wb"
                        length = resp.headers.get("Content-Length")
                        total = int(length) if length and length.isdigit() else None
                    if size is not None and total is not None and total != int(size):
                        raise ColorbenchError(
                            f"{url}: the server reports {total} bytes but {int(size)} are expected; "
                            f"check the URL and the size in params.yaml"
                        )
                    with (
                        open(part, mode) as fh,
                        tqdm(
                            total=total,
                            initial=have,
                            unit="B",
                            unit_scale=True,
                            unit_divisor=1024,
                            desc=dest.name,
                            disable=not progress,
                            leave=False,
                            mininterval=1.0,
                        ) as bar,
                    ):
                        for chunk in resp.iter_content(_STREAM_CHUNK):
                            fh.write(chunk)
                            for h in hashers.values():
                                h.update(chunk)
                            have += len(chunk)
                            bar.update(len(chunk))
                    if total is not None and have < total:
                        raise _Transient(f"connection closed after {have} of {total} bytes")
                    break
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                _Transient,
            ) as exc:
                failures = 0 if have > before else failures
                failures += 1
                reason = _short_reason(exc)
                if failures > retries:
                    if not connected:
                        raise ColorbenchError(
                            f"cannot reach {url} ({reason}); place the file by hand at {dest} "
                            f"(set {ENV_DOWNLOADS} to use another folder), or use the `folder` "
                            f"dataset (acquire.folder.path)"
                        ) from None
                    raise ColorbenchError(
                        f"download of {url} failed after {retries} retries ({reason}); "
                        f"{have} bytes are kept in {part}: run again to resume, or place the "
                        f"file by hand at {dest}"
                    ) from None
                wait = backoff * 2 ** (failures - 1)
                if isinstance(exc, _Transient) and exc.wait is not None:
                    wait = max(wait, exc.wait)
                time.sleep(min(wait, max_wait))
    finally:
        if session is None:
            sess.close()

    if size is not None and have != int(size):
        raise _mismatch(part, "size", f"{int(size)} bytes", f"{have} bytes", dest.name)
    for algo, value in want.items():
        got = hashers[algo].hexdigest()
        if got != value:
            raise _mismatch(part, algo, value, got, dest.name)
    os.replace(part, dest)
    if want:
        st = dest.stat()
        digests = {a: h.hexdigest() for a, h in hashers.items()}
        _stamp(dest).write_text(
            json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, **digests})
        )
    return dest


def fetch(
    url: str,
    *,
    filename: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    **kwargs,
) -> Path:
    """The verified cached copy of `url` (cache_dir/filename), downloaded when absent."""
    dest = downloads_dir(cache_dir) / (filename or url_filename(url))
    return download(url, dest, size=size, md5=md5, sha256=sha256, **kwargs)
