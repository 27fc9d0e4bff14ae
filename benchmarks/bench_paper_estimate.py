"""Estimate of the `paper` profile's cost per stage on one GPU, from FLOPs (counted with
torch's FlopCounterMode at the profile's sizes and widths) and a measured CPU step rate.

For every network: forward GFLOPs per image; for training stages, one measured CPU training
step (forward + backward, batch 2) gives the achieved CPU GFLOP/s, and the ratio of a
training step's FLOPs to a forward's (about 3). GPU time = images x epochs x FLOPs per
image / an assumed sustained GPU throughput (EFFECTIVE_TFLOPS, default 60 TFLOP/s: mixed
precision on an A100/H100-class card at 20-40% of peak). An ESTIMATE, not a measurement.

Run: python benchmarks/bench_paper_estimate.py [EFFECTIVE_TFLOPS]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

SIZE = 256
COCO_TRAIN, COCO_VAL, PLACES = 118_287, 5_000, 100_000  # images (paper profile)
CROPS = 3.0  # assumed object crops per COCO image (Mask R-CNN, score >= 0.7, top 8)


def flops(fn: Callable[[], object]) -> float:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def step_seconds(net: torch.nn.Module, x: torch.Tensor, out_index: int | None = None) -> float:
    """Seconds of one forward + backward on the CPU (after a warm-up step)."""
    for k in range(2):
        t = time.perf_counter()
        y = net(x)
        y = y[out_index] if out_index is not None else y
        y.float().mean().backward()
        if k:
            return time.perf_counter() - t
    raise AssertionError


def networks() -> dict[str, tuple[torch.nn.Module, torch.Tensor, int | None]]:
    from torchvision.models import vgg16

    from colorbench.detect.maskrcnn import build_model
    from colorbench.methods.scgan.global_net import GlobalNet
    from colorbench.methods.scgan.nets import SCGANGenerator
    from colorbench.models.densefuse import DenseFuse
    from colorbench.models.registry import build_discriminator, build_generator, from_checkpoint
    from colorbench.saliency.u2net import U2NETP

    gray, rgb = torch.randn(2, 1, SIZE, SIZE), torch.randn(2, 3, SIZE, SIZE)
    pnet = {"arch": "patchgan", "width": 64, "n_layers": 3, "in_channels": 3}
    enc = {"width": 64, "pretrained": True}
    with torch.no_grad():
        mask_rcnn = build_model().eval()
    with from_checkpoint():  # the pretrained layout, without reading the ImageNet file
        fg = build_generator({"arch": "resunet_attn", **enc})
        bg = build_generator({"arch": "resunet", **enc})
    return {
        "unet G (depth 8)": (
            build_generator({"arch": "unet", "width": 64, "depth": 8}),
            gray,
            None,
        ),
        "resunet_attn G (fg)": (fg, gray, None),
        "resunet G (bg)": (bg, gray, None),
        "patchgan D": (build_discriminator(pnet), rgb, None),
        "densefuse": (DenseFuse(3, 16), rgb, None),
        "global net": (GlobalNet(80, 64), gray, None),
        "scgan G": (SCGANGenerator(SIZE, 64), gray, 0),
        "vgg16 to conv3_3": (vgg16(weights=None).features[:16], rgb, None),
        "mask r-cnn @800 (inference)": (mask_rcnn, rgb, None),
        "u2netp @320 (inference)": (U2NETP().eval(), torch.randn(2, 3, 320, 320), 0),
    }


def main() -> None:
    tflops = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    torch.manual_seed(0)
    print(f"{'network':30s} {'GFLOP/img fwd':>14} {'train/fwd':>10} {'CPU step s':>11} "
          f"{'CPU GFLOP/s':>12}")  # fmt: skip
    fwd: dict[str, float] = {}
    for name, (net, x, idx) in networks().items():
        inference = "inference" in name
        if inference:
            with torch.no_grad():
                det = "r-cnn" in name  # torchvision detectors take a list of images
                f = flops(lambda net=net, x=x, det=det: net(list(x)) if det else net(x))
            fwd[name] = f / len(x) / 1e9
            print(f"{name:30s} {fwd[name]:14.1f}")
            continue
        f = flops(lambda net=net, x=x: net(x))
        net.train()
        ratio = flops(lambda net=net, x=x, idx=idx: (
            (net(x)[idx] if idx is not None else net(x)).float().mean().backward()
        )) / f  # fmt: skip
        sec = step_seconds(net, x, idx)
        fwd[name] = f / len(x) / 1e9
        print(f"{name:30s} {fwd[name]:14.1f} {ratio:10.2f} {sec:11.2f} "
              f"{ratio * f / sec / 1e9:12.1f}")  # fmt: skip

    def hours(gflop_per_img: float, images: float) -> float:
        return gflop_per_img * images / (tflops * 1e3) / 3600

    d = fwd["patchgan D"]
    stages = {  # (GFLOP per image of one training step, images seen)
        "train_colorizer@unet (15 GAN epochs)": (3 * fwd["unet G (depth 8)"] + 9 * d, 15 * COCO_TRAIN * (1 + CROPS)),
        "train_colorizer@fg (15+15 epochs)": (3 * fwd["resunet_attn G (fg)"] + 4.5 * d, 30 * COCO_TRAIN * (1 + CROPS)),
        "train_colorizer@bg (15+15 epochs)": (3 * fwd["resunet G (bg)"] + 4.5 * d, 30 * (COCO_TRAIN + PLACES)),
        "train_fusion (20 epochs)": (3 * fwd["densefuse"], 20 * COCO_TRAIN),
        "train_global (10 epochs)": (3 * fwd["global net"], 10 * COCO_TRAIN),
        "train_scgan (10+30 epochs)": (3 * fwd["scgan G"] + 13.5 * d + 3 * fwd["vgg16 to conv3_3"], 40 * COCO_TRAIN * 0.5),
        "crops (Mask R-CNN)": (fwd["mask r-cnn @800 (inference)"], COCO_TRAIN + COCO_VAL),
        "saliency (U2-Net-p)": (fwd["u2netp @320 (inference)"], COCO_TRAIN + COCO_VAL + PLACES),
    }  # fmt: skip
    print(f"\nESTIMATE on one GPU at a sustained {tflops:.0f} TFLOP/s (not measured):")
    for name, (g, n) in stages.items():
        print(f"  {name:40s} {hours(g, n):7.1f} h")


if __name__ == "__main__":
    main()
