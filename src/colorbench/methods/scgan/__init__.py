"""SCGAN: the saliency-guided generator (nets), its two critics (critics), the global-feature
network and its trainer (global_net, global_labels, train_global), losses, the training
settings and steps (parts, data, train) and the colorize step (colorize).

Methods (method.py): `scgan` (the RGB as generated: the paper's protocol) and `scgan_l`
(its ab on the input's L), both written by one run, with the predicted saliency maps.
This file stays bare: the trainers import the package without the colorize code."""
