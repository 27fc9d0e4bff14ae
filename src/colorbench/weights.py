"""The registry of pretrained weights: every network the project can load is listed once.

Files live where their loading library looks for them, `torch.hub.get_dir()/checkpoints/`
(respects TORCH_HOME), so torchvision / pytorch-fid / lpips find the same file. Stages call
`require(name)`, which never downloads: a missing or corrupt file raises
`MissingWeightsError` naming `colorbench weights fetch` / `colorbench weights import`.

Integrity: an entry pins its full sha256 where it is known from several independent
sources; otherwise the hash prefix that torchvision-style file names embed
(`<name>-<first hex digits of sha256>.pth`) is checked, plus the byte size. A verified file
gets a `<file>.sha256ok` sidecar keyed by size, mtime and ctime so later `require` calls do not
re-hash hundreds of megabytes.

A user manifest ($COLORBENCH_WEIGHTS_MANIFEST, see `weights_manifest`) overrides an entry's
file and pin; every `require` is recorded in the process's ledger for the report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from colorbench.errors import ColorbenchError, MissingWeightsError
from colorbench.weights_manifest import ENV, Loaded, ManifestEntry, record
from colorbench.weights_manifest import active as active_manifest

SIDECAR_SUFFIX = ".sha256ok"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention, hex only


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    file: str
    url: str | None  # None: no public download, install with `weights import DIR`
    sha256: str | None  # the full digest where known
    size: int | None  # bytes, where known
    description: str
    sha256_prefix: str | None = None  # defaults to the hex digits embedded in `file`

    @property
    def expected_prefix(self) -> str | None:
        if self.sha256:
            return self.sha256
        if self.sha256_prefix:
            return self.sha256_prefix
        m = _HASH_IN_NAME.search(self.file)
        return m.group(1) if m else None

    @property
    def pin(self) -> str:
        """How strongly the content is pinned, for `weights status`."""
        if self.sha256:
            return "sha256"
        if self.expected_prefix:
            return f"sha256 prefix ({len(self.expected_prefix)} hex)"
        return "none (user file)"


_TV = "https://download.pytorch.org/models/"

# Full digests and sizes: each agrees with the hash prefix in its file name and with
# torchvision's `_file_size` metadata (MiB), and was found identical in several independent
# public projects. Mask R-CNN's full digest was not found: its prefix and size are checked.
REGISTRY: dict[str, WeightsEntry] = {
    e.name: e
    for e in [
        WeightsEntry(
            "resnet18",
            "resnet18-f37072fd.pth",
            _TV + "resnet18-f37072fd.pth",
            "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec",
            46_830_571,
            "torchvision ResNet-18, ImageNet-1k (ParaColorizer's pretrained encoder)",
        ),
        WeightsEntry(
            "vgg16",
            "vgg16-397923af.pth",
            _TV + "vgg16-397923af.pth",
            "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
            553_433_881,
            "torchvision VGG-16, ImageNet-1k (SCGAN perceptual loss, Top-1)",
        ),
        WeightsEntry(
            "alexnet",
            "alexnet-owt-7be5be79.pth",
            _TV + "alexnet-owt-7be5be79.pth",
            "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02",
            244_408_911,
            "torchvision AlexNet, ImageNet-1k (the LPIPS v0.1 backbone)",
        ),
        WeightsEntry(
            "maskrcnn_resnet50_fpn",
            "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
            _TV + "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
            None,
            178_090_079,
            "torchvision Mask R-CNN ResNet-50 FPN, COCO (object crops)",
        ),
        WeightsEntry(
            # pytorch_fid.inception.FID_WEIGHTS_URL; piq's FID Inception uses the same URL
            # (piq.feature_extractors.fid_inception.FID_WEIGHTS_URL), so one entry serves both.
            "inception_fid",
            "pt_inception-2015-12-05-6726825d.pth",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
            95_628_359,
            "TF-FID InceptionV3 (pytorch-fid and piq FID)",
        ),
        WeightsEntry(
            # No stable public URL (the authors host it on Google Drive): the user provides
            # the file and installs it with `colorbench weights import DIR`.
            "u2netp",
            "u2netp.pth",
            None,
            None,
            None,
            "U^2-Net-p salient-object detector (Qin et al. 2020), saliency backend `deep`",
        ),
    ]
}


# ---- paths and verification ----------------------------------------------------------------


def cache_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def entry(name: str) -> WeightsEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ColorbenchError(f"unknown weights '{name}'; known: {known}") from None


def cache_path(name: str) -> Path:
    return cache_dir() / entry(name).file


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def stat_key(path: Path) -> dict[str, int]:
    # ctime changes on every write and cannot be set back (unlike mtime), so a rewritten
    # file is re-hashed even when a tool preserved its size and mtime.
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns}


def file_digest(path: Path) -> str:
    """sha256 of `path`, taken from its sidecar when size, mtime and ctime are unchanged."""
    side = sidecar(path)
    key = stat_key(path)
    try:
        cached = json.loads(side.read_text())
        if all(cached.get(k) == v for k, v in key.items()):
            return str(cached["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    digest = sha256_file(path)
    with contextlib.suppress(OSError):  # a read-only cache still works, just slower
        side.write_text(json.dumps({**key, "sha256": digest}))
    return digest


def check_file(e: WeightsEntry, path: Path) -> str | None:
    """None when `path` holds `e`'s content, else a short reason."""
    size = path.stat().st_size
    if e.size is not None and size != e.size:
        return f"size {size} bytes, expected {e.size}"
    expected = e.expected_prefix
    if expected is None:
        return None
    digest = file_digest(path)
    if not digest.startswith(expected):
        return f"sha256 {digest[: len(expected)]}, expected {expected}"
    return None


def user_entry(name: str) -> ManifestEntry | None:
    """The $COLORBENCH_WEIGHTS_MANIFEST entry overriding `name`'s built-in pin, if any."""
    entry(name)
    return active_manifest(set(REGISTRY)).get(name)


def resolved_path(name: str) -> Path:
    """Where `require(name)` looks: the user manifest's file, else the hub cache."""
    user = user_entry(name)
    return user.path if user is not None else cache_path(name)


def _check(name: str, path: Path) -> str | None:
    user = user_entry(name)
    if user is None:
        return check_file(entry(name), path)
    digest = file_digest(path)
    return None if digest == user.sha256 else f"sha256 {digest}, manifest says {user.sha256}"


def state(name: str) -> str:
    """'present' | 'missing' | 'corrupt' (for `weights status`)."""
    path = resolved_path(name)
    if not path.is_file():
        return "missing"
    return "present" if _check(name, path) is None else "corrupt"


def is_available(name: str) -> bool:
    return state(name) == "present"


def how_to_install(e: WeightsEntry) -> str:
    if e.url:
        return (
            f"run `colorbench weights fetch {e.name}` (or `colorbench weights import DIR` offline)"
        )
    return f"put {e.file} in a folder DIR and run `colorbench weights import DIR`"


def require(name: str, *, verify: bool = True) -> Path:
    """The path of `name`'s present, verified file; never downloads.

    A $COLORBENCH_WEIGHTS_MANIFEST entry for `name` overrides the built-in pin (its file,
    checked against its sha256). Every call is recorded in the process's ledger
    (`weights_manifest.loaded()`). `verify=False` skips the content check (presence is still
    required): for callers that load files they made themselves.
    """
    e = entry(name)
    user = user_entry(name)
    path = resolved_path(name)
    if user is not None:
        fix = f"fix entry '{name}' of {user.manifest} ({ENV})"
    else:
        fix = how_to_install(e)
    if not path.is_file():
        where = f"at {path}" if user else f"({e.file}) in {path.parent}"
        raise MissingWeightsError(f"pretrained weights '{name}' not found {where}; {fix}")
    if verify:
        reason = _check(name, path)
        if reason is not None:
            if user is None:
                fix = "delete it and " + fix
            raise MissingWeightsError(
                f"pretrained weights '{name}' at {path} are corrupt ({reason}); {fix}"
            )
    source = f"manifest {user.manifest}" if user else "built-in pin"
    record(Loaded(name, str(path), file_digest(path), source, bool(user and user.stand_in)))
    return path


# ---- status (fetch and import: colorbench.weights_install) ----------------------------------------------------------------


@dataclass
class StatusRow:
    name: str
    file: str
    state: str
    size: int | None
    path: Path
    pin: str


def status(names: Iterable[str] | None = None) -> list[StatusRow]:
    rows = []
    for name in names or REGISTRY:
        e = entry(name)
        user = user_entry(name)
        path = resolved_path(name)
        size = path.stat().st_size if path.is_file() else None
        pin = f"manifest sha256{' (stand-in)' if user.stand_in else ''}" if user else e.pin
        rows.append(StatusRow(name, path.name, state(name), size, path, pin))
    return rows


def override(name: str, **changes: object) -> WeightsEntry:
    """A copy of `name`'s entry with some fields changed (tests point `url` at a local
    server or pin the hash of weights they generated); install it with
    `monkeypatch.setitem(REGISTRY, name, override(name, ...))`."""
    return dataclasses.replace(entry(name), **changes)
