"""Blind human evaluation: ParaColorizer's fooling test (Sec. IV, Table III) and SCGAN's
perceptual ratings (Sec. IV, Table I), as a self-contained study folder, a local web page
and a scorer.

- `design`: `colorbench study build` — pick images, plant attention checks, draw each
  participant's order and left/right placement (seeded), copy images under opaque names.
- `store`: the study folder and the append-only, fsync'd answer log.
- `server`: `colorbench study serve` — stdlib http.server, one token link per participant.
- `scoring`: `colorbench study score` — Table III cases and F, mean ratings, bootstrap
  intervals over participants, Krippendorff's alpha, attention-check exclusion.
- `tables`: the report tables (`reports/study/`, DVC stage `study`).
"""
