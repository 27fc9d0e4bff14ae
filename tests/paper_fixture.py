"""Tiny COCO-2017 and Places365-standard archives in their real member layouts, for the
paper-mini end-to-end test, or as a local mirror:

    python tests/paper_fixture.py DIR && python -m http.server 8000 -d DIR

- zips/train2017.zip (`train2017/000000xxxxxx.jpg`), zips/val2017.zip (`val2017/...`),
  annotations/annotations_trainval2017.zip (`annotations/instances_{train,val}2017.json` in
  COCO's format: info, licenses, images, annotations with polygons and one crowd RLE,
  the 80 categories with their real ids; plus a captions file the profile filters out);
- places365/filelist_places365-standard.tar (`categories_places365.txt`,
  `places365_train_standard.txt`, `places365_val.txt`) and
  places365/train_256_places365standard.tar (`data_256/<l>/<category>/000000NN.jpg`);
- imagenet/: ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar, ILSVRC2012_devkit_t12.tar.gz
  as tests/imagenet_fixture.py builds them (3 classes; 10 colour val images per class).

Images are the synthetic generator's scenes (objects with known masks), as JPEG.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from imagenet_fixture import DEVKIT, TRAIN, VAL, make_imagenet
from PIL import Image

from colorbench.data.synthetic import render

# The synthetic categories as real COCO ones (name -> COCO id).
AS_COCO = {1: ("sports ball", 37), 2: ("suitcase", 33), 3: ("potted plant", 64),
           4: ("broccoli", 56), 5: ("car", 3), 6: ("umbrella", 28)}  # fmt: skip
PLACES = ("/a/airfield", "/b/beach", "/f/forest/broadleaf", "/l/lake/natural")
COCO_FILES = ("zips/train2017.zip", "zips/val2017.zip", "annotations/annotations_trainval2017.zip")
PLACES_FILES = ("filelist_places365-standard.tar", "train_256_places365standard.tar")
IMAGENET_FILES = (DEVKIT, TRAIN, VAL)  # the order of acquire.imagenet.archives


def coco_categories() -> list[dict]:
    """The 80 COCO categories with their real (non-contiguous) ids."""
    from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights

    names = MaskRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"]
    return [{"supercategory": "object", "id": i, "name": n} for i, n in enumerate(names)
            if n not in ("__background__", "N/A")]  # fmt: skip


def _jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _coco_split(split: str, first: int, n: int, seed: int, w: int, h: int) -> tuple[dict, dict]:
    """({member: JPEG bytes}, instances json) of one split; images w x h (landscape)."""
    members, images, anns = {}, [], []
    for k in range(n):
        img_id = 139 + 1000 * (first + k)  # COCO-like sparse ids
        scene = render(seed, first + k, w)
        crop = slice(0, h)  # landscape: the top h rows of the square scene
        name = f"{img_id:012d}.jpg"
        members[f"{split}2017/{name}"] = _jpeg(scene.image[crop])
        images.append({"license": 1, "file_name": name, "coco_url": f"http://x/{name}",
                       "height": h, "width": w, "date_captured": "2013-11-14 16:28:13",
                       "flickr_url": "", "id": img_id})  # fmt: skip
        for obj, cat in enumerate(scene.categories, start=1):
            mask = scene.instances[crop] == obj
            if not mask.any():
                continue
            ys, xs = np.nonzero(mask)
            x0, y0, x1, y1 = (
                float(xs.min()),
                float(ys.min()),
                float(xs.max() + 1),
                float(ys.max() + 1),
            )
            anns.append({"segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
                         "area": float(mask.sum()), "iscrowd": 0, "image_id": img_id,
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "category_id": AS_COCO[cat][1],
                         "id": 900000 + len(anns)})  # fmt: skip
        if k == 0:  # a crowd of people, as an uncompressed RLE (column-major run lengths)
            crowd = np.zeros((h, w), np.uint8)
            crowd[h - 8 : h - 2, 2:12] = 1
            flat = crowd.flatten(order="F")
            edges = np.flatnonzero(np.diff(flat)) + 1
            counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
            anns.append({"segmentation": {"counts": counts, "size": [h, w]}, "area": 60.0,
                         "iscrowd": 1, "image_id": img_id, "bbox": [2.0, h - 8.0, 10.0, 6.0],
                         "category_id": 1, "id": 900000 + len(anns)})  # fmt: skip
    instances = {
        "info": {
            "description": "COCO 2017 Dataset (colorbench fixture)",
            "version": "1.0",
            "year": 2017,
        },  # fmt: skip
        "licenses": [
            {
                "url": "http://creativecommons.org/licenses/by/2.0/",
                "id": 1,
                "name": "Attribution License",
            }
        ],  # fmt: skip
        "images": images,
        "annotations": anns,
        "categories": coco_categories(),
    }
    return members, instances


def _zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2017, 9, 1, 0, 0, 0)), data)


def _tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_500_000_000
            tf.addfile(info, io.BytesIO(data))


def build_mirror(www: Path, *, n_train: int = 16, n_val: int = 8, n_places: int = 8,
                 seed: int = 0, size: int = 80) -> Path:  # fmt: skip
    """Write the eight archives under `www` (layout above); returns `www`."""
    h = size * 3 // 4
    train, train_json = _coco_split("train", 0, n_train, seed, size, h)
    val, val_json = _coco_split("val", n_train, n_val, seed, size, h)
    _zip(www / COCO_FILES[0], train)
    _zip(www / COCO_FILES[1], val)
    captions = {"images": val_json["images"], "annotations": []}
    _zip(www / COCO_FILES[2], {
        "annotations/instances_train2017.json": json.dumps(train_json).encode(),
        "annotations/instances_val2017.json": json.dumps(val_json).encode(),
        "annotations/captions_val2017.json": json.dumps(captions).encode(),
    })  # fmt: skip
    images, listing = {}, []
    for k in range(n_places):
        cat = PLACES[k % len(PLACES)]
        rel = f"{cat}/{k // len(PLACES) + 1:08d}.jpg"
        images[f"data_256{rel}"] = _jpeg(render(seed, k, 64, with_objects=False).image)
        listing.append(f"{rel} {k % len(PLACES)}")
    cats = "".join(f"{c} {i}\n" for i, c in enumerate(PLACES))
    _tar(www / "places365" / PLACES_FILES[0], {
        "categories_places365.txt": cats.encode(),
        "places365_train_standard.txt": ("\n".join(listing) + "\n").encode(),
        "places365_val.txt": b"Places365_val_00000001.jpg 0\n",
    })  # fmt: skip
    _tar(www / "places365" / PLACES_FILES[1], images)
    # 7 val images per class, 2 of them grayscale: acquire keeps paper-mini's val_per_class
    # (4; with seed 0 every colour one has mean chroma > 12, far from prepare's gray
    # threshold of 4); 80 train images per class: train_fraction 0.1 keeps 8 (SCGAN's
    # data_fraction 0.5 then leaves 12, at least one batch)
    make_imagenet(www / "imagenet", n_classes=3, train_sizes=[80] * 3, val_per_class=7,
                  gray_val=2, image_size=(size, h), seed=seed)  # fmt: skip
    return www


def point_params_at(params: dict, www: Path, base_url: str) -> dict:
    """`params` with acquire.coco / places / imagenet URLs and checksums set to this mirror,
    as a user pointing a profile at a mirror would."""

    def md5(rel: str) -> str:
        return hashlib.md5((www / rel).read_bytes()).hexdigest()

    for spec, rel in zip(params["acquire"]["coco"]["archives"], COCO_FILES, strict=True):
        spec.update(url=f"{base_url}/{rel}", md5=md5(rel), size=(www / rel).stat().st_size)
    places = params["acquire"]["places"]
    places["base_url"] = f"{base_url}/places365/"
    for spec, name in zip(places["archives"], PLACES_FILES, strict=True):
        spec.update(file=name, md5=md5(f"places365/{name}"))
    imagenet = params["acquire"]["imagenet"]
    imagenet["base_url"] = f"{base_url}/imagenet/"
    for spec, name in zip(imagenet["archives"], IMAGENET_FILES, strict=True):
        spec.update(file=name, md5=md5(f"imagenet/{name}"))
    return params


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/paper_fixture.py DIR")
    print(build_mirror(Path(sys.argv[1])))
