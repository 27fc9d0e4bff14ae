"""Colorizing, method-agnostic: the engine (any size in and out, a Predictor(model, L) -> ab),
model files through it (checkpoints), combining two colorized sets (pairs) and the
colorize_* DVC stage (stage, the one module here that asks colorbench.methods)."""

DEFAULT_MODEL_SIZE = 256  # the side a model sees when neither the caller nor its file says
