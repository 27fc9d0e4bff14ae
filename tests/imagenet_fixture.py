"""ImageNet-layout archives built as the real ILSVRC2012 ones are, for tests and benchmarks.

- ILSVRC2012_img_train.tar: an outer tar of per-class inner tars `nXXXXXXXX.tar`, each
  holding flat `nXXXXXXXX_<k>.JPEG` files;
- ILSVRC2012_img_val.tar: flat `ILSVRC2012_val_XXXXXXXX.JPEG` (1-based, 8 digits);
- ILSVRC2012_devkit_t12.tar.gz: `ILSVRC2012_devkit_t12/data/meta.mat` (a `synsets` struct
  array with the real fields, leaves plus one internal node, written by scipy.io.savemat)
  and `ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt` (one 1-based
  ILSVRC2012_ID per val image, in file-name order).
`ImageNetFixture` records the truth (labels, grayscale files) the tests compare against.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN = "ILSVRC2012_img_train.tar"
VAL = "ILSVRC2012_img_val.tar"
DEVKIT = "ILSVRC2012_devkit_t12.tar.gz"
SYNSET_FIELDS = (
    "ILSVRC2012_ID",
    "WNID",
    "words",
    "gloss",
    "num_children",
    "children",
    "wordnet_height",
    "num_train_images",
)


@dataclass
class ImageNetFixture:
    folder: Path
    wnids: list[str]  # in ILSVRC2012_ID order (1-based id = position + 1)
    names: dict[str, str]  # wnid -> "words" of meta.mat
    train: dict[str, dict[str, bytes]]  # wnid -> {file name: JPEG bytes}
    val: dict[str, str]  # val file name -> wnid
    val_bytes: dict[str, bytes] = field(default_factory=dict)
    val_gray: set[str] = field(default_factory=set)  # val files with grayscale content

    def archive(self, name: str) -> Path:
        return self.folder / name

    def archives(self, base_url: str | None = None) -> list[dict]:
        """`acquire.imagenet.archives` entries with this fixture's md5s (and a mirror URL)."""
        out = []
        for name, part in ((DEVKIT, "devkit"), (TRAIN, "train"), (VAL, "val")):
            data = self.archive(name).read_bytes()
            spec = {"file": name, "md5": hashlib.md5(data).hexdigest(), "part": part}
            if base_url:
                spec["url"] = f"{base_url}/{name}"
            out.append(spec)
        return out


def _jpeg(rng: np.random.Generator, size: tuple[int, int], gray: bool) -> bytes:
    w, h = size
    base = rng.integers(0, 256, 3)
    ramp = np.linspace(0, 80, w)[None, :, None]
    arr = np.clip(base + ramp + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    im = Image.fromarray(arr)
    (im.convert("L") if gray else im).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_300_000_000
    tf.addfile(info, io.BytesIO(data))


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members.items():
            _add(tf, name, data)
    return buf.getvalue()


def _meta_mat(wnids: list[str], names: dict[str, str], train_counts: list[int]) -> bytes:
    """meta.mat as in the real devkit: 1-based ids, leaves first, then internal nodes."""
    from scipy.io import savemat

    n = len(wnids)
    rows = [
        (i + 1, w, names[w], f"gloss of {w}", 0, np.zeros((0,), np.uint8), 0, train_counts[i])
        for i, w in enumerate(wnids)
    ]
    # an internal WordNet node (num_children > 0): torchvision must leave it out
    rows.append((n + 1, "n00001740", "entity", "that which exists", n, np.arange(1, n + 1), 19, 0))
    arr = np.zeros((len(rows), 1), dtype=[(f, object) for f in SYNSET_FIELDS])
    for i, row in enumerate(rows):
        for f, v in zip(SYNSET_FIELDS, row, strict=True):
            arr[f][i, 0] = v
    buf = io.BytesIO()
    savemat(buf, {"synsets": arr})
    return buf.getvalue()


def make_imagenet(
    folder: Path,
    n_classes: int = 4,
    train_sizes: list[int] | None = None,
    val_per_class: int = 5,
    gray_val: int = 2,
    image_size: tuple[int, int] = (40, 32),
    seed: int = 0,
) -> ImageNetFixture:
    """Write the three archives into `folder`. Class c has train_sizes[c] train images (default
    6, 9, 12, ...), and `val_per_class` val images of which the first `gray_val` are grayscale
    (alternately a mode-L JPEG and an RGB file of gray content)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    # wnids sorted differently from ILSVRC2012_ID order, as in the real devkit
    wnids = [f"n{(7_000_000 - 1_000 * i):08d}" for i in range(n_classes)]
    names = {w: f"class {i}, synonym {i}" for i, w in enumerate(wnids)}
    sizes = train_sizes or [6 + 3 * i for i in range(n_classes)]
    train = {
        w: {f"{w}_{k + 1}.JPEG": _jpeg(rng, image_size, False) for k in range(sizes[i])}
        for i, w in enumerate(wnids)
    }
    with tarfile.open(folder / TRAIN, "w", format=tarfile.GNU_FORMAT) as tf:
        for w in sorted(wnids):
            _add(tf, f"{w}.tar", _tar_bytes(train[w]))

    # val: classes interleaved by a seeded shuffle, as the real file order is
    labels = [w for w in wnids for _ in range(val_per_class)]
    rng.shuffle(labels)
    fx = ImageNetFixture(folder, wnids, names, train, {})
    seen: dict[str, int] = {}
    for k, w in enumerate(labels):
        name = f"ILSVRC2012_val_{k + 1:08d}.JPEG"
        j = seen[w] = seen.get(w, -1) + 1
        gray = j < gray_val
        data = _jpeg(rng, image_size, gray=gray and j % 2 == 0)
        if gray and j % 2 == 1:  # RGB file, grayscale content
            im = Image.open(io.BytesIO(_jpeg(rng, image_size, True))).convert("RGB")
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=90)
            data = buf.getvalue()
        fx.val[name], fx.val_bytes[name] = w, data
        if gray:
            fx.val_gray.add(name)
    with tarfile.open(folder / VAL, "w", format=tarfile.GNU_FORMAT) as tf:
        for name in sorted(fx.val):
            _add(tf, name, fx.val_bytes[name])

    ids = {w: i + 1 for i, w in enumerate(wnids)}
    truth = "".join(f"{ids[fx.val[name]]}\n" for name in sorted(fx.val))
    devkit = {
        "ILSVRC2012_devkit_t12/data/meta.mat": _meta_mat(wnids, names, sizes),
        "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": truth.encode(),
        "ILSVRC2012_devkit_t12/COPYING": b"fixture\n",
    }
    with tarfile.open(folder / DEVKIT, "w:gz") as tf:
        for name, data in devkit.items():
            _add(tf, name, data)
    return fx
