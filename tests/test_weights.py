"""Pretrained-weights registry: entries, verification, status/fetch/import (offline, 127.0.0.1)."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from colorbench import weights, weights_install
from colorbench.cli import main
from colorbench.errors import ColorbenchError, MissingWeightsError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def _pin(monkeypatch: pytest.MonkeyPatch, name: str, content: bytes, **extra) -> None:
    """Point registry entry `name` at `content` (full sha256 and size)."""
    monkeypatch.setitem(
        weights.REGISTRY,
        name,
        weights.override(
            name, sha256=hashlib.sha256(content).hexdigest(), size=len(content), **extra
        ),
    )


def test_registry_matches_the_loading_libraries() -> None:
    """File names and URLs are the ones torchvision / pytorch-fid / piq download; full hashes
    start with the prefix embedded in the file name; sizes agree with torchvision's MiB."""
    import piq.feature_extractors.fid_inception as piq_fid
    from pytorch_fid.inception import FID_WEIGHTS_URL
    from torchvision.models import AlexNet_Weights, ResNet18_Weights, VGG16_Weights
    from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights

    tv = {
        "resnet18": ResNet18_Weights.IMAGENET1K_V1,
        "vgg16": VGG16_Weights.IMAGENET1K_V1,
        "alexnet": AlexNet_Weights.IMAGENET1K_V1,
        "maskrcnn_resnet50_fpn": MaskRCNN_ResNet50_FPN_Weights.COCO_V1,
    }
    for name, w in tv.items():
        e = weights.REGISTRY[name]
        assert e.url == w.url and e.file == w.url.rsplit("/", 1)[1]
        assert abs(e.size / 2**20 - w.meta["_file_size"]) < 0.001, name
    fid = weights.REGISTRY["inception_fid"]
    assert fid.url == FID_WEIGHTS_URL == piq_fid.FID_WEIGHTS_URL
    assert fid.file == FID_WEIGHTS_URL.rsplit("/", 1)[1]
    for e in weights.REGISTRY.values():
        if e.url:
            assert e.expected_prefix and len(e.expected_prefix) >= 8
            assert e.file.split("-")[-1].split(".")[0] == e.expected_prefix[:8]
    assert weights.REGISTRY["maskrcnn_resnet50_fpn"].pin.startswith("sha256 prefix")
    assert weights.REGISTRY["u2netp"].url is None


def test_cache_path_follows_torch_home(home: Path) -> None:
    import torch.hub

    assert weights.cache_path("resnet18") == home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert weights.cache_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_require_missing_names_both_commands(home: Path) -> None:
    with pytest.raises(MissingWeightsError) as info:
        weights.require("resnet18")
    msg = str(info.value)
    assert "\n" not in msg
    assert "colorbench weights fetch resnet18" in msg and "colorbench weights import DIR" in msg
    assert not weights.is_available("resnet18")
    with pytest.raises(MissingWeightsError, match="colorbench weights import DIR"):
        weights.require("u2netp")
    with pytest.raises(ColorbenchError, match="unknown weights 'nope'"):
        weights.require("nope")


def test_require_verifies_and_caches_the_checksum(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = b"good weights" * 100
    _pin(monkeypatch, "resnet18", good)
    path = weights.cache_path("resnet18")
    path.parent.mkdir(parents=True)
    path.write_bytes(good)
    assert weights.require("resnet18") == path and weights.is_available("resnet18")
    assert path.with_name(path.name + ".sha256ok").is_file()

    # Cached: no re-hash while size and mtime are unchanged.
    def boom(_path: Path, chunk: int = 0) -> str:
        raise AssertionError("re-hashed")

    with monkeypatch.context() as m:
        m.setattr(weights, "sha256_file", boom)
        assert weights.require("resnet18") == path

    # Same size, different content, even with the old mtime put back: caught as corrupt.
    mtime = path.stat().st_mtime_ns
    bad = b"evil weights" * 100
    path.write_bytes(bad)
    os.utime(path, ns=(mtime, mtime))
    with pytest.raises(MissingWeightsError, match="corrupt .*sha256") as info:
        weights.require("resnet18")
    assert "colorbench weights fetch resnet18" in str(info.value)
    assert weights.state("resnet18") == "corrupt"
    assert weights.require("resnet18", verify=False) == path  # explicit opt-out only
    path.write_bytes(good[:-1])
    with pytest.raises(MissingWeightsError, match="size"):
        weights.require("resnet18")


def test_prefix_only_entry_checks_the_prefix(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"x" * 1000
    digest = hashlib.sha256(content).hexdigest()
    monkeypatch.setitem(
        weights.REGISTRY,
        "maskrcnn_resnet50_fpn",
        weights.override("maskrcnn_resnet50_fpn", file=f"m-{digest[:8]}.pth", size=None),
    )
    path = weights.cache_path("maskrcnn_resnet50_fpn")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert weights.require("maskrcnn_resnet50_fpn") == path
    path.write_bytes(b"y" * 1000)
    with pytest.raises(MissingWeightsError, match=f"expected {digest[:8]}"):
        weights.require("maskrcnn_resnet50_fpn")


def test_status_cli_offline(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = CliRunner().invoke(main, ["weights", "status"])
    assert res.exit_code == 0, res.output
    for name, e in weights.REGISTRY.items():
        line = next(ln for ln in res.output.splitlines() if ln.startswith(name + " "))
        assert e.file in line and "missing" in line and str(weights.cache_path(name)) in line
    good = b"abc" * 10
    _pin(monkeypatch, "vgg16", good)
    _pin(monkeypatch, "alexnet", good)
    for name, data in (("vgg16", good), ("alexnet", b"xyz" * 10)):
        p = weights.cache_path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    out = CliRunner().invoke(main, ["weights", "status", "vgg16", "alexnet"]).output
    assert "present" in next(ln for ln in out.splitlines() if ln.startswith("vgg16 "))
    assert "corrupt" in next(ln for ln in out.splitlines() if ln.startswith("alexnet "))


def test_import_verifies_and_reports_mismatches(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = b"resnet bytes" * 50, b"vgg16 bytes" * 50
    _pin(monkeypatch, "resnet18", good)
    _pin(monkeypatch, "vgg16", b"the real vgg16" * 40)
    src = tmp_path / "offline"
    (src / "sub").mkdir(parents=True)
    (src / "resnet18-f37072fd.pth").write_bytes(good)
    (src / "sub" / "vgg16-397923af.pth").write_bytes(bad)
    (src / "u2netp.pth").write_bytes(b"user model")  # unpinned: load-checked, and junk
    res = CliRunner().invoke(main, ["weights", "import", str(src)])
    assert res.exit_code == 1
    assert "installed resnet18" in res.output
    assert "MISMATCH u2netp" in res.output and "does not load" in res.output
    assert "MISMATCH vgg16" in res.output and "failed verification" in res.output
    assert weights.cache_path("resnet18").read_bytes() == good
    assert not weights.cache_path("vgg16").exists()
    assert not weights.cache_path("u2netp").exists()
    assert weights.require("resnet18")
    # A state dict that loads into U^2-Net-p is installed (unpinned: its sha256 is shown).
    import torch

    from colorbench.saliency.u2net import U2NETP

    torch.save(U2NETP().state_dict(), src / "u2netp.pth")
    res = CliRunner().invoke(main, ["weights", "import", str(src)])
    assert "installed u2netp" in res.output and "unpinned: sha256" in res.output
    assert weights.require("u2netp")
    # The library call reports the same without the CLI.
    result = weights_install.import_dir(src, ["vgg16"])
    assert result.installed == [] and result.mismatched[0].startswith("vgg16:")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["weights", "import", str(empty)])
    assert res.exit_code == 1 and "no registry file found" in res.output


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves `payload` at any path, honouring `Range: bytes=N-`; records the ranges asked."""

    payload = b""
    ranges: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        rng = self.headers.get("Range")
        type(self).ranges.append(rng or "")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        body = self.payload[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header(
                "Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}"
            )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_RangeHandler]]]:
    handler = type("H", (_RangeHandler,), {"payload": b"", "ranges": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_downloads_verifies_and_resumes(
    home: Path, monkeypatch: pytest.MonkeyPatch, server
) -> None:
    base, handler = server
    payload = bytes(range(256)) * 400  # 100 KiB
    handler.payload = payload
    _pin(monkeypatch, "resnet18", payload, url=f"{base}/resnet18-f37072fd.pth")
    res = CliRunner().invoke(main, ["weights", "fetch", "resnet18"])
    assert res.exit_code == 0, res.output
    path = weights.cache_path("resnet18")
    assert path.read_bytes() == payload and weights.require("resnet18") == path
    assert not path.with_name(path.name + ".part").exists()

    # Interrupted earlier: the .part file is resumed with a Range request.
    path.unlink()
    part = path.with_name(path.name + ".part")
    part.write_bytes(payload[:30000])
    handler.ranges.clear()
    weights_install.fetch("resnet18", log=lambda _m: None)
    assert handler.ranges == ["bytes=30000-"]
    assert path.read_bytes() == payload

    # Already present: no request at all.
    handler.ranges.clear()
    weights_install.fetch("resnet18", log=lambda _m: None)
    assert handler.ranges == []


def test_fetch_rejects_a_bad_download(home: Path, monkeypatch: pytest.MonkeyPatch, server) -> None:
    base, handler = server
    handler.payload = b"tampered" * 100
    _pin(monkeypatch, "alexnet", b"expected" * 100, url=f"{base}/alexnet-owt-7be5be79.pth")
    res = CliRunner().invoke(main, ["weights", "fetch", "alexnet"])
    assert res.exit_code == 1
    assert "failed verification" in res.output and "Traceback" not in res.output
    path = weights.cache_path("alexnet")
    assert not path.exists() and not path.with_name(path.name + ".part").exists()
    # No public URL: a clear message, no request.
    with pytest.raises(ColorbenchError, match="weights import DIR"):
        weights_install.fetch("u2netp")
    # Unreachable server: a clear, resumable error.
    monkeypatch.setitem(
        weights.REGISTRY, "alexnet", weights.override("alexnet", url="http://127.0.0.1:9/x.pth")
    )
    with pytest.raises(ColorbenchError, match="download of .* failed"):
        weights_install.fetch("alexnet")
