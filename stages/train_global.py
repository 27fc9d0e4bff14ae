"""DVC stage `train_global`: SCGAN's global-feature network (VGG-16-Gray classifier on the
prepared train images' L channel) -> models/global.pt.

Labels: the manifest's class labels, else COCO image-level categories from the annotations
that prepare.sources declare (multi-label). With train_scgan.global_net random or none
nothing is trained and models/global.pt records that it is unused."""

from __future__ import annotations

import sys

from colorbench.detect.coco import source_annotations
from colorbench.methods.scgan.train_global import train_global
from colorbench.params import section
from colorbench.stage_utils import run_main


def main() -> None:
    metrics = train_global(
        section("train_global"),
        prepared_dir="data/prepared",
        out="models/global.pt",
        annotations=source_annotations(),
        global_net=str(section("train_scgan").get("global_net", "pretrained")),
    )
    # The saved network's BatchNorm statistics are recalibrated after training.
    top1 = metrics.get("classify/val_top1_recalibrated", metrics.get("classify/val_top1"))
    if top1 is not None:
        print(f"train_global: val top-1 {top1:.3f}", file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
