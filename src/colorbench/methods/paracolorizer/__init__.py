"""ParaColorizer (and its V1 baseline): the unet/fg/bg generators (train_colorizer), the
DenseFuse fusion network (train_fusion) and the fused colorization (fused).

Networks shared with other code (Res-UNet, U-Net, PatchGAN, DenseFuse) live in
colorbench.models, built by arch name from params."""

# Checkpoint meta `name` of the generators: which train_colorizer@<name> wrote a file.
GENERATORS = ("unet", "fg", "bg")
