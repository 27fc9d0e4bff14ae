"""SCGAN's methods; light: the networks load inside `colorize`."""

from __future__ import annotations

from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.methods.base import ColorizeJob, Method

NAMES = ("scgan", "scgan_l")


class SCGAN(Method):
    name, label, order, trained = (
        "scgan",
        "scgan (SCGAN, RGB as generated: paper protocol)",
        60,
        True,
    )
    checkpoints = {"model": "scgan.pt"}
    self_atomic = True  # writes scgan/, scgan_l/ and the saliency maps in one pass
    help = "SCGAN (--checkpoint models/scgan.pt; the CLI writes its ab on the input's L)"

    def colorize(self, job: ColorizeJob) -> list[Path]:
        if job.outputs_dir is None:  # the CLI: ab on the input's L, like every other method
            from colorbench.colorize.checkpoints import colorize_with_checkpoint

            return colorize_with_checkpoint(
                job.checkpoint("model"), job.inputs, job.out_dir, kind="scgan", method=job.name,
                size=job.size, batch_size=job.batch_size, device=job.device, names=job.ids,
                workers=job.workers, fallback_size=job.fallback_size, rejects=job.rejects,
            )  # fmt: skip
        from colorbench.methods.scgan.colorize import colorize_scgan

        if job.name != self.name:
            raise ColorbenchError(f"{job.name} is written by the scgan stage; colorize scgan")
        if job.saliency_dir is None:
            raise ColorbenchError("scgan writes its saliency maps too: give --saliency-out DIR")
        colorize_scgan(
            job.checkpoint("model"), job.prepared_dir, job.out_dir,
            job.saliency_dir / "scgan", job.batch_size, job.device,
            out_l_dir=job.outputs_dir / "scgan_l", workers=job.workers, ids=job.ids,
        )  # fmt: skip
        return sorted(job.out_dir.glob("*.png"))


class SCGANOnL(SCGAN):
    name, label, order = "scgan_l", "scgan_l (SCGAN ab on the input's L)", 61
    help = "SCGAN's ab on the input's L (the pipeline writes it with scgan)"


METHODS = [SCGAN(), SCGANOnL()]
