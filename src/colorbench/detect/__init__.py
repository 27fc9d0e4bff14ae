"""Object boxes and crops: COCO annotations or torchvision Mask R-CNN (the crops stage)."""

from colorbench.detect.boxes import BOX_COLUMNS, cut_crop, load_crop, select_boxes
from colorbench.detect.stage import BOXES_CSV, CROPS_SUBDIR, CropsSummary, run_crops

__all__ = [
    "BOXES_CSV",
    "BOX_COLUMNS",
    "CROPS_SUBDIR",
    "CropsSummary",
    "cut_crop",
    "load_crop",
    "run_crops",
    "select_boxes",
]
