"""Colorization metrics (definitions in DESIGN.md "Metrics") and the streaming evaluator.

fidelity      PSNR, SSIM (batched, equal to skimage)
colorfulness  Hasler–Süsstrunk M (signed and |.| variants), CCI ratio, ΔColorful
cni           colour naturalness index (Huang et al. 2006)
frechet       streamed mean/covariance, Fréchet distance from eigenvalues
fid           TF-FID InceptionV3 features (standard | piq protocol)
lpips_metric  LPIPS AlexNet v0.1
accuracy      Top-1 (profile evaluator or ImageNet VGG-16)
evaluator_net the synthetic profile's classifier; train_evaluator trains it
stats         bootstrap intervals, paired tests
evaluate      the streaming engine: evaluate(pred_dir, gt_dir, ...)
"""
