"""Downloads against a local HTTP server (Range, drops, 503s), and safe extraction."""

from __future__ import annotations

import hashlib
import io
import random
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from colorbench.data.download import download, downloads_dir, fetch
from colorbench.data.extract import safe_extract
from colorbench.errors import ColorbenchError
from colorbench.imagefiles import is_image_name

DATA = random.Random(0).randbytes(300_000)
MD5 = hashlib.md5(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.files` with Range support; can drop a transfer mid-file, answer 503
    a number of times, or ignore Range, and logs (path, Range header) of each request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        srv = self.server
        rng = self.headers.get("Range")
        srv.log.append((self.path, rng))
        data = srv.files.get(self.path)
        if data is None:
            self._empty(404)
            return
        if srv.fail.get(self.path, 0) > 0:
            srv.fail[self.path] -= 1
            self._empty(503, {"Retry-After": "0"})
            return
        start = 0
        if rng and not srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self._empty(416, {"Content-Range": f"bytes */{len(data)}"})
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if srv.drop.get(self.path, 0) > 0:  # promise the whole body, send half, hang up
            srv.drop[self.path] -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _empty(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.files, srv.log, srv.fail, srv.drop, srv.ignore_range = {}, [], {}, {}, False
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _no_env_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORBENCH_DOWNLOADS", raising=False)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAST = {"backoff": 0.0, "progress": False, "timeout": 10.0}


def test_interrupted_transfer_resumes_with_range(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    server.drop["/a.bin"] = 1
    dest = tmp_path / "a.bin"
    with pytest.raises(ColorbenchError, match="run again to resume"):
        download(f"{server.url}/a.bin", dest, md5=MD5, retries=0, **FAST)
    part = tmp_path / "a.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(DATA) and not dest.exists()

    download(f"{server.url}/a.bin", dest, md5=MD5, sha256=SHA256, retries=0, **FAST)
    assert dest.read_bytes() == DATA and not part.exists()
    assert server.log[-1] == ("/a.bin", f"bytes={kept}-")


def test_retry_resumes_within_one_call(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    server.drop["/a.bin"] = 2
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", md5=MD5, retries=1, **FAST)
    assert hashlib.md5(dest.read_bytes()).hexdigest() == MD5
    ranges = [r for _, r in server.log]
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    assert len(ranges) == 3  # progress on each attempt resets the retry budget


def test_server_ignoring_range_restarts_cleanly(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    server.drop["/a.bin"] = 1
    server.ignore_range = True
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", size=len(DATA), md5=MD5, **FAST)
    assert dest.read_bytes() == DATA


def test_complete_part_file_is_finished_without_download(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    (tmp_path / "a.bin.part").write_bytes(DATA)
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", md5=MD5, **FAST)
    assert dest.read_bytes() == DATA
    assert server.log == [("/a.bin", f"bytes={len(DATA)}-")]  # answered 416: already whole


def test_transient_503_is_retried(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    server.fail["/a.bin"] = 2
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", md5=MD5, retries=3, **FAST)
    assert dest.read_bytes() == DATA
    assert len(server.log) == 3


def test_persistent_503_gives_up(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    server.fail["/a.bin"] = 10
    with pytest.raises(ColorbenchError, match="503"):
        download(f"{server.url}/a.bin", tmp_path / "a.bin", retries=2, **FAST)
    assert len(server.log) == 3


def test_404_is_not_retried(server, tmp_path: Path) -> None:
    with pytest.raises(ColorbenchError, match="HTTP 404"):
        download(f"{server.url}/missing.zip", tmp_path / "m.zip", retries=5, **FAST)
    assert len(server.log) == 1


def test_checksum_mismatch_deletes_and_names_values(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    wrong = "0" * 32
    with pytest.raises(ColorbenchError) as err:
        download(f"{server.url}/a.bin", tmp_path / "a.bin", md5=wrong, **FAST)
    msg = str(err.value)
    assert wrong in msg and MD5 in msg and "mismatch" in msg
    assert list(tmp_path.iterdir()) == []


def test_size_mismatch_caught(server, tmp_path: Path) -> None:
    server.files["/a.bin"] = DATA
    with pytest.raises(ColorbenchError, match=str(len(DATA) + 1)):
        download(f"{server.url}/a.bin", tmp_path / "a.bin", size=len(DATA) + 1, **FAST)
    assert not (tmp_path / "a.bin").exists()


def test_corrupt_cached_file_is_detected(tmp_path: Path) -> None:
    bad = tmp_path / "a.bin"
    bad.write_bytes(DATA[:-1] + b"x")
    url = f"http://127.0.0.1:{unused_port()}/a.bin"
    with pytest.raises(ColorbenchError, match=f"expected {MD5}"):
        download(url, bad, md5=MD5, **FAST)
    assert not bad.exists()


def test_unreachable_host_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}/train2017.zip"
    with pytest.raises(ColorbenchError) as err:
        fetch(url, cache_dir=tmp_path / "dl", retries=1, **FAST)
    msg = str(err.value)
    assert "\n" not in msg
    assert url in msg and "cannot reach" in msg
    assert str(tmp_path / "dl" / "train2017.zip") in msg and "folder" in msg


def test_unreachable_host_cli_prints_one_line(tmp_path: Path) -> None:
    from colorbench.cli import main

    url = f"http://127.0.0.1:{unused_port()}/x.zip"
    res = CliRunner().invoke(
        main, ["download", url, "--out", str(tmp_path / "x.zip"), "--retries", "0"]
    )
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach") and url in lines[0]


def test_preplaced_archive_used_without_network(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "mycache"
    cache.mkdir()
    (cache / "val2017.zip").write_bytes(DATA)
    monkeypatch.setenv("COLORBENCH_DOWNLOADS", str(cache))
    assert downloads_dir("ignored/by/env") == cache
    url = f"http://127.0.0.1:{unused_port()}/zips/val2017.zip"
    path = fetch(url, cache_dir="data/downloads", size=len(DATA), md5=MD5, **FAST)
    assert path == cache / "val2017.zip"
    # the verification stamp lets the next call skip hashing, and stays correct
    assert (cache / "val2017.zip.verified").exists()
    assert fetch(url, size=len(DATA), md5=MD5, **FAST) == path


# --------------------------------------------------------------------------- extraction


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz" if path.name.endswith("gz") else "w") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("member", "why"),
    [("../evil.txt", "'..'"), ("a/../../evil.txt", "'..'"), ("/tmp/abs_evil.txt", "absolute")],
)
def test_zip_escape_refused(tmp_path: Path, member: str, why: str) -> None:
    arc = _zip(tmp_path / "bad.zip", {"ok.txt": b"fine", member: b"evil"})
    dest = tmp_path / "out" / "target"
    with pytest.raises(ColorbenchError) as err:
        safe_extract(arc, dest)
    assert repr(member) in str(err.value) and why in str(err.value)
    assert list(dest.iterdir()) == []  # nothing extracted, not even the good member
    assert not (tmp_path / "out" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["target"]  # temp dir removed


@pytest.mark.parametrize(
    ("members", "bad"),
    [
        ([("ok.txt", b"x"), _link("link", "../../outside")], "link"),
        ([("ok.txt", b"x"), _link("link", "/etc/passwd")], "link"),
        ([("ok.txt", b"x"), _link("hard", "../outside", hard=True)], "hard"),
        ([("/abs.txt", b"x")], "/abs.txt"),
        ([("d/../../up.txt", b"x")], "d/../../up.txt"),
        # lexically inside, but `a` points at the root, so `a/b` -> root/.. is outside
        ([_link("a", "."), _link("a/b", "..")], "a/b"),
    ],
)
def test_tar_escape_refused(tmp_path: Path, members, bad: str) -> None:
    arc = _tar(tmp_path / "bad.tar", members)
    dest = tmp_path / "out" / "target"
    with pytest.raises(ColorbenchError) as err:
        safe_extract(arc, dest)
    assert repr(bad) in str(err.value)
    assert list(dest.iterdir()) == []
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["target"]


def test_good_archives_extracted(tmp_path: Path) -> None:
    members = {"top/a.txt": b"alpha", "top/sub/b.png": b"beta", "c.txt": b"gamma"}
    z = _zip(tmp_path / "good.zip", members)
    t = _tar(
        tmp_path / "good.tar.gz",
        [
            *members.items(),
            _link("top/link_to_a", "a.txt"),
            _link("top/hard_b", "top/sub/b.png", hard=True),
        ],
    )
    assert safe_extract(z, tmp_path / "z") == 3
    assert _tree(tmp_path / "z") == members
    assert safe_extract(t, tmp_path / "t") == 5
    tree = _tree(tmp_path / "t")
    assert tree == {**members, "top/link_to_a": b"alpha", "top/hard_b": b"beta"}
    assert (tmp_path / "t" / "top" / "link_to_a").is_symlink()
    # existing unrelated content of the target survives; same-named entries are replaced
    (tmp_path / "z" / "keep.txt").write_text("mine")
    safe_extract(z, tmp_path / "z")
    assert (tmp_path / "z" / "keep.txt").read_text() == "mine"


def test_filter_and_deterministic_subset(tmp_path: Path) -> None:
    names = [f"data/{c}/{i:04d}.jpg" for c in "abc" for i in range(20)] + ["data/readme.txt"]
    members = {n: n.encode() for n in names}
    z = _zip(tmp_path / "imgs.zip", members)
    t = _tar(tmp_path / "imgs.tar", list(members.items()))

    def kept(arc: Path, out: str, seed: int, limit: int | None = 7) -> set[str]:
        n = safe_extract(arc, tmp_path / out, accept=is_image_name, limit=limit, seed=seed)
        tree = set(_tree(tmp_path / out))
        assert n == len(tree)
        return tree

    a = kept(t, "t0", 0)
    assert len(a) == 7 and all(n.endswith(".jpg") for n in a)
    assert kept(t, "t0b", 0) == a  # same seed, same subset
    assert kept(z, "z0", 0) == a  # zip and tar choose alike
    assert kept(t, "t1", 1) != a
    assert len(kept(t, "all", 0, limit=None)) == 60
    assert len(kept(z, "many", 0, limit=1000)) == 60


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(ColorbenchError, match="neither a zip nor a tar"):
        safe_extract(junk, tmp_path / "out")
