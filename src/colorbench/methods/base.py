"""The Method contract: what every colorization method declares, and the job it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorbench.colorize import DEFAULT_MODEL_SIZE
from colorbench.errors import ColorbenchError

if TYPE_CHECKING:
    from colorbench.protocols import Protocol


@dataclass
class ColorizeJob:
    """One method run: `inputs` colorized into `out_dir/<id>.png`.

    The DVC stage fills prepared_dir/outputs_dir/protocol (a method may read the data or its
    sibling methods' folders there); `colorbench colorize` fills only the images, the
    checkpoints and the options given on the command line.
    """

    name: str  # the method as asked for: `fg`, `overlay_a0.5`, an external method's name
    inputs: list[Path]
    ids: list[str]  # output stems, one per input
    out_dir: Path
    checkpoints: dict[str, Path] = field(default_factory=dict)  # role -> model file
    options: dict[str, Any] = field(default_factory=dict)  # params `colorize` / CLI options
    device: str = "auto"
    batch_size: int = 16
    workers: int = 2
    size: int | None = None  # side the model sees; None: the checkpoint's training size
    fallback_size: int = DEFAULT_MODEL_SIZE
    rejects: list[tuple[Path, str]] | None = None  # undecodable inputs skipped, or None: error
    prepared_dir: Path | None = None
    outputs_dir: Path | None = None  # the protocol's outputs/ folder (stage only)
    saliency_dir: Path | None = None  # the protocol's outputs_saliency/ folder (stage only)
    protocol: Protocol | None = None

    def checkpoint(self, role: str) -> Path:
        if role not in self.checkpoints or self.checkpoints[role] is None:
            flag = "--checkpoint" if role == "model" else f"--{role}"
            raise ColorbenchError(f"--method {self.name} needs {flag} PATH")
        return Path(self.checkpoints[role])


class Method:
    """A colorization method. Subclasses set the class attributes and `colorize`.

    name: the method's folder in outputs/ and its `--method` value; label: its row in the
    report's tables; order: its place there (lower first; equal orders by name); trained:
    whether a train_* stage makes its model; checkpoints: role -> models/ file it loads in
    the pipeline (`model` is `--checkpoint` on the command line, other roles `--<role>`);
    self_atomic: it replaces its output folders itself (otherwise the stage does).
    """

    name: str = ""
    label: str = ""
    order: int = 1000
    trained: bool = False
    checkpoints: dict[str, str] = {}
    self_atomic: bool = False
    help: str = ""

    def matches(self, name: str) -> bool:
        """Whether this method produces the output folder `name`."""
        return name == self.name

    def label_for(self, name: str) -> str:
        return self.label or name

    def sort_key(self, name: str) -> tuple:
        return (self.order, name)

    def model_files(self, name: str) -> dict[str, str]:
        """role -> file name in models/ for the pipeline's run of `name`."""
        return dict(self.checkpoints)

    def colorize(self, job: ColorizeJob) -> list[Path]:
        raise NotImplementedError
