"""Training: one trainer per pipeline on the shared loop (`colorbench.train.loop`).

Modules: loop (phases, checkpoints/resume, AMP, DDP, logging), checkpointing, distributed,
logging (dvclive), data (datasets), colorizer (ParaColorizer's unet/fg/bg GANs), fusion
(DenseFuse autoencoder), common (shared trainer helpers).
"""
