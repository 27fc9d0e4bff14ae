"""Datasets: synthetic generator, downloads, folder import, prepare, manifests."""
