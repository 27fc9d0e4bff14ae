"""Colorization methods: one module (inference only) or one folder (trained) per method.

Each module here, and each folder's `method.py`, declares `NAMES` (the method names it
provides, a literal that tools/stage_deps.py reads) and `METHODS` (their `Method` objects);
colorbench.methods.registry finds them. docs/add_a_method.md says how to add one.
"""
