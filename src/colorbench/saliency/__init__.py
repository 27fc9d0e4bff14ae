"""Saliency maps per prepared image: ground-truth masks, spectral residual, U^2-Net-p."""

from colorbench.saliency.stage import BACKENDS, SaliencySummary, run_saliency

__all__ = ["BACKENDS", "SaliencySummary", "run_saliency"]
