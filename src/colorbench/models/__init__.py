"""Colorization networks (ParaColorizer's generators, PatchGAN, DenseFuse; SCGAN) and the
registry that builds them from a params dict and loads them from checkpoints."""
