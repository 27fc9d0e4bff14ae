"""Checkpointing and resuming of a TrainLoop: what `last.pt` holds, writing it safely and
picking a run up where it stopped (see colorbench.train.loop)."""

from __future__ import annotations

from typing import Any

from colorbench.train import checkpointing as ckpt
from colorbench.train.distributed import barrier
from colorbench.train.logging import snapshot_metrics
from colorbench.train.step import NonFiniteLossError, Position


class ResumeMixin:
    """TrainLoop's checkpoint methods (the attributes are TrainLoop's)."""

    def _state(self, finished: bool) -> dict[str, Any]:
        p = self._pos
        return {
            "config_hash": self.config_hash,
            "run_name": self.cfg.run_name,
            "finished": finished,
            "world_size": self.env.world_size,
            "position": {
                "phase": p.phase,
                "epoch": p.epoch,
                "batch": p.batch,
                "epoch_total": p.epoch_total,
                "step": p.step,
                "phase_step": p.phase_step,
                "epoch_sums": dict(p.epoch_sums),
                "epoch_count": p.epoch_count,
                "window": {k: list(v) for k, v in p.window.items()},
            },
            "modules": {n: self._raw[n].state_dict() for n in self._trainable},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            # dvc repro deletes logs/<run> before a resumed stage: keep its history here
            "log_history": snapshot_metrics(self.log_dir) if self.is_main else {},
        }

    def save_checkpoint(self, finished: bool = False) -> None:
        """Rank 0 writes `last.pt` atomically; other ranks wait. Refuses non-finite weights."""
        barrier(self.env)
        if self.is_main:
            bad = ckpt.nonfinite_tensors({n: self._raw[n] for n in self._trainable})
            if bad:
                raise NonFiniteLossError(
                    f"run {self.cfg.run_name!r}: non-finite weights ({', '.join(bad[:3])}) at "
                    f"step {self._pos.step}; not checkpointed. {self._kept_message()}"
                )
            ckpt.save_checkpoint(self.checkpoint_path, self._state(finished))
        self._last_good_step = self._pos.step
        barrier(self.env)

    def _kept_message(self) -> str:
        if self._last_good_step is None:
            return "No checkpoint was written before this point."
        return (
            f"The last good checkpoint (step {self._last_good_step}) is kept at "
            f"{self.checkpoint_path}."
        )

    def _try_resume(self) -> bool:
        barrier(self.env)
        if not self.cfg.resume:
            self._note("resume disabled: starting a fresh run")
            return False
        state = ckpt.load_checkpoint(self.checkpoint_path)
        if state is None:
            return False
        if state.get("config_hash") != self.config_hash:
            self._note(
                f"{self.checkpoint_path} belongs to a different configuration: starting fresh"
            )
            return False
        if state.get("finished"):
            self._note(f"{self.checkpoint_path} is a finished run: starting a new one")
            return False
        missing = set(self._trainable) - set(state["modules"])
        missing |= set(self.optimizers) - set(state["optimizers"])
        if missing:
            self._note(f"checkpoint lacks {sorted(missing)}: starting fresh")
            return False
        for n in self._trainable:
            self._raw[n].load_state_dict(state["modules"][n])
        for n, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][n])
        for n, s in self.schedulers.items():
            if n in state["schedulers"]:
                s.load_state_dict(state["schedulers"][n])
        if state["scaler"] and self.scaler.is_enabled():  # empty when saved without AMP
            self.scaler.load_state_dict(state["scaler"])
        pos = state["position"]
        self._pos = Position(**pos)
        if state.get("world_size") != self.env.world_size:
            # Shards differ with the world size: redo the interrupted epoch from its start.
            self._pos.batch, self._pos.epoch_sums, self._pos.epoch_count = 0, {}, 0
            self._pos.window = {}
        ckpt.set_rng_state(state["rng"])
        if self.env.rank:
            ckpt.seed_all(self.cfg.seed + 7919 * self.env.rank + self._pos.step)
        self._last_good_step = self._pos.step
        self.resumed_from = self._pos.step
        self._log_history = state.get("log_history") or {}
        self._note(f"resuming {self.cfg.run_name} from step {self._pos.step}")
        return True
