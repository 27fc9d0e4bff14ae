"""colorbench: reproducible data preparation and benchmarking for image colorization."""

__version__ = "0.1.0"
