"""The shared training loop on toy modules: resume, NaN handling, config hash, dvclive, DDP."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.train.checkpointing import load_checkpoint
from colorbench.train.loop import LoopConfig, NonFiniteLossError, Phase, TrainLoop


class ToyData(torch.utils.data.Dataset):
    """y = a fixed function of x; `getitem_epoch` adds an epoch-dependent sign flip."""

    def __init__(self, n: int = 24) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(n, 1, 8, 8, generator=g)
        self.y = torch.cat([self.x.roll(1, -1), -self.x], dim=1)

    def __len__(self) -> int:
        return len(self.x)

    def getitem_epoch(self, i: int, epoch: int) -> dict:
        s = 1.0 if (i + epoch) % 2 else -1.0
        return {"x": self.x[i] * s, "y": self.y[i] * s, "id": str(i)}


def toy_net() -> nn.Module:
    # BatchNorm (buffers) and Dropout (RNG) make the resume test meaningful.
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Dropout(0.2),
        nn.Conv2d(6, 2, 3, padding=1),
    )  # fmt: skip


def toy_critic() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3))


def build(tmp: Path, *, every: int = 3, cfg: dict | None = None, seed: int = 0) -> TrainLoop:
    loop = TrainLoop(
        LoopConfig(
            run_name="toy",
            seed=seed,
            device="cpu",
            batch_size=4,
            checkpoint_every=every,
            log_every=2,
            checkpoint_dir=tmp / "ckpt" / "toy",
            log_dir=tmp / "logs" / "toy",
            progress=False,
        ),
        run_config=cfg or {"lr": 0.01},
    )
    loop.add_module("G", toy_net())
    loop.add_module("D", toy_critic())
    loop.add_optimizer("g", torch.optim.Adam(loop.parameters("G"), lr=0.01))
    loop.add_optimizer("g2", torch.optim.Adam(loop.parameters("G"), lr=0.005, betas=(0.5, 0.999)))
    loop.add_optimizer("d", torch.optim.Adam(loop.parameters("D"), lr=0.005, betas=(0.5, 0.999)))
    loop.add_scheduler("g2s", torch.optim.lr_scheduler.StepLR(loop.optimizers["g2"], 1, 0.5))
    return loop


def pre_step(batch, ctx):
    pred = ctx.module("G")(batch["x"])
    loss = nn.functional.l1_loss(pred, batch["y"])
    ctx.zero_grad("g")
    ctx.backward(loss, "l1")
    ctx.step("g")
    return {"l1": loss.detach()}


def gan_step(batch, ctx):
    G, D = ctx.module("G"), ctx.module("D")
    x, y = batch["x"], batch["y"]
    fake = G(x)
    d_real, d_fake = D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1))
    d_loss = ((d_real - 1) ** 2).mean() + (d_fake**2).mean()
    ctx.zero_grad("d")
    ctx.backward(d_loss, "d_loss")
    ctx.step("d")
    g_loss = ((D(torch.cat([x, fake], 1)) - 1) ** 2).mean() + 10 * (fake - y).abs().mean()
    ctx.zero_grad("g2")
    ctx.backward(g_loss, "g_loss")
    ctx.step("g2", clip=5.0)
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


PHASES = [
    Phase("pre", pre_step, epochs=2, train=["G"]),
    Phase("gan", gan_step, epochs=2, schedulers=["g2s"]),
]


class Interrupt(Exception):
    pass


def interrupt_at(k: int):
    def hook(ctx):
        if ctx.global_step + 1 == k:
            raise Interrupt(k)

    return hook


def weights(loop: TrainLoop) -> dict[str, torch.Tensor]:
    return {
        f"{m}.{k}": v.clone() for m in ("G", "D") for k, v in loop.unwrap(m).state_dict().items()
    }


def test_one_step_lowers_loss_on_fixed_batch(tmp_path: Path) -> None:
    loop = build(tmp_path)
    batch = ToyData().getitem_epoch(0, 0)
    batch = {k: v[None].repeat(4, 1, 1, 1) for k, v in batch.items() if k != "id"}
    G = loop.unwrap("G").eval()  # no dropout noise for this comparison
    with torch.no_grad():
        before = nn.functional.l1_loss(G(batch["x"]), batch["y"]).item()
    from colorbench.train.loop import Position, StepContext

    pre_step(batch, StepContext(loop, "pre", Position()))
    with torch.no_grad():
        after = nn.functional.l1_loss(G(batch["x"]), batch["y"]).item()
    assert after < before


def test_resume_after_interruption_gives_identical_weights(tmp_path: Path) -> None:
    data = ToyData()  # 24 samples / batch 4 = 6 steps per epoch, 24 steps in all
    ref = build(tmp_path / "ref")
    ref.run(PHASES, data)
    assert ref.global_step == 24
    expected = weights(ref)
    ref.close()

    run = tmp_path / "run"
    # Kill mid-epoch inside the GAN phase (step 17: last checkpoint at step 15), then again
    # at step 21, a checkpoint step (the hook runs before its checkpoint: 18 is the last).
    for k in (17, 21):
        loop = build(run)
        with pytest.raises(Interrupt):
            loop.run(PHASES, data, on_step_end=interrupt_at(k))
        loop.close()
        state = load_checkpoint(run / "ckpt" / "toy" / "last.pt")
        assert state["position"]["step"] == ((k - 1) // 3) * 3
        assert not state["finished"]
    loop = build(run)
    loop.run(PHASES, data)
    assert loop.resumed_from == 18
    got = weights(loop)
    loop.close()
    assert got.keys() == expected.keys()
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
    # Metric history has no duplicated steps after the replays.
    tsv = run / "logs" / "toy" / "plots" / "metrics" / "gan" / "g_loss.tsv"
    steps = [int(r.split("\t")[0]) for r in tsv.read_text().splitlines()[1:]]
    assert steps == sorted(set(steps))
    assert steps[-1] == 24
    assert load_checkpoint(run / "ckpt" / "toy" / "last.pt")["finished"]


def test_changed_config_starts_fresh_and_finished_run_restarts(tmp_path: Path) -> None:
    data = ToyData()
    loop = build(tmp_path)
    with pytest.raises(Interrupt):
        loop.run(PHASES, data, on_step_end=interrupt_at(8))
    loop.close()
    loop = build(tmp_path, cfg={"lr": 0.02})
    loop.run(PHASES[:1], data)
    assert loop.resumed_from is None
    assert loop.global_step == 12
    loop.close()
    loop = build(tmp_path, cfg={"lr": 0.02})  # the previous run finished: a new one
    loop.run(PHASES[:1], data)
    assert loop.resumed_from is None
    loop.close()


def test_nan_loss_stops_with_clear_error_and_keeps_good_checkpoint(tmp_path: Path) -> None:
    def poisoned(batch, ctx):
        if ctx.global_step + 1 == 8:
            batch = {**batch, "y": batch["y"] * float("nan")}
        return pre_step(batch, ctx)

    loop = build(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"diverged.*l1.*step 6") as err:
        loop.run([Phase("pre", poisoned, epochs=3)], ToyData())
    assert isinstance(err.value, ColorbenchError)
    assert "last good checkpoint (step 6)" in str(err.value)
    loop.close()
    state = load_checkpoint(tmp_path / "ckpt" / "toy" / "last.pt")
    assert state["position"]["step"] == 6
    for v in state["modules"]["G"].values():
        assert torch.isfinite(v.float()).all()


def test_nan_metric_without_backward_is_caught(tmp_path: Path) -> None:
    def bad(batch, ctx):
        pre_step(batch, ctx)
        return {"score": float("inf")}

    loop = build(tmp_path)
    with pytest.raises(NonFiniteLossError, match="score"):
        loop.run([Phase("pre", bad, epochs=1)], ToyData())
    loop.close()
    assert not (tmp_path / "ckpt" / "toy" / "last.pt").exists()


def test_dvclive_files_and_steps_phase(tmp_path: Path) -> None:
    loop = build(tmp_path, every=0)
    images = {"grid": (torch.rand(8, 8, 3) * 255).byte().numpy()}
    out = loop.run(
        [Phase("pre", pre_step, steps=5), Phase("gan", gan_step, epochs=1)],
        ToyData(),
        eval_fn=lambda ctx: {"val": 1.5},
        preview_fn=lambda ctx: images,
    )
    loop.close()
    assert loop.global_step == 5 + 6
    assert out["gan/val"] == 1.5 and "gan/epoch_d_loss" in out
    metrics = tmp_path / "logs" / "toy" / "plots" / "metrics"
    assert (metrics / "pre" / "l1.tsv").read_text().startswith("step\tl1")
    assert (metrics / "gan" / "epoch_g_loss.tsv").is_file()
    assert (metrics / "gan" / "val.tsv").is_file()
    assert (tmp_path / "logs" / "toy" / "plots" / "images" / "samples" / "gan_grid.png").is_file()
    assert (tmp_path / "logs" / "toy" / "metrics.json").is_file()
    assert not (tmp_path / "logs" / "toy" / "dvc.yaml").exists()


def test_too_small_dataset_is_a_clear_error(tmp_path: Path) -> None:
    loop = build(tmp_path)
    with pytest.raises(ColorbenchError, match="fewer than one batch"):
        loop.run(PHASES, ToyData(n=3))
    loop.close()


def test_a_phase_can_bring_its_own_dataset(tmp_path: Path) -> None:
    seen: dict[str, set[str]] = {"pre": set(), "gan": set()}

    def record(step):
        def fn(batch, ctx):
            seen[ctx.phase].update(batch["id"])
            return step(batch, ctx)

        return fn

    loop = build(tmp_path, every=0)
    small = ToyData(n=8)
    loop.run(
        [Phase("pre", record(pre_step), epochs=1, dataset=small),
         Phase("gan", record(gan_step), epochs=1)],
        ToyData(n=16),
    )  # fmt: skip
    loop.close()
    assert loop.global_step == 8 // 4 + 16 // 4
    assert seen["pre"] == {str(i) for i in range(8)} and len(seen["gan"]) == 16
    with pytest.raises(ColorbenchError, match="phase 'pre'"):
        build(tmp_path / "b").run([Phase("pre", pre_step, dataset=ToyData(n=3))], ToyData())


# ---- DDP: two gloo processes ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, root: str, q) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    # Each rank works in its own directory: whatever a rank writes shows up in its own.
    here = Path(root) / f"rank{rank}"
    here.mkdir()
    os.chdir(here)
    loop = build(Path("."))
    assert loop.env.world_size == world and loop.env.rank == rank
    loop.run(PHASES, ToyData())
    params = {
        f"{m}.{k}": v.sum().item() for m in ("G", "D") for k, v in loop.unwrap(m).named_parameters()
    }
    q.put((rank, loop.global_step, params))
    loop.close()


@pytest.mark.slow  # two spawned interpreters: ~40 s on a busy 2-core machine
@pytest.mark.skipif(sys.platform != "linux", reason="gloo over 127.0.0.1 on linux")
def test_ddp_two_gloo_processes_rank0_writes(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    port = _free_port()
    procs = [ctx.Process(target=_ddp_worker, args=(r, 2, port, str(tmp_path), q)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    results = sorted(q.get() for _ in range(2))
    # 24 samples over 2 ranks, batch 4: 3 steps per epoch, 4 epochs.
    assert [r[1] for r in results] == [12, 12]
    # DDP kept the replicas' parameters in sync (BatchNorm running stats are per rank).
    assert results[0][2] == pytest.approx(results[1][2], rel=1e-6, abs=1e-6)
    rank0, rank1 = tmp_path / "rank0", tmp_path / "rank1"
    assert (rank0 / "ckpt" / "toy" / "last.pt").is_file()
    assert (rank0 / "logs" / "toy" / "plots" / "metrics" / "gan" / "g_loss.tsv").is_file()
    assert sorted(p.name for p in (rank0 / "ckpt" / "toy").iterdir()) == ["last.pt"]
    assert list(rank1.iterdir()) == []  # rank 1 wrote nothing


def test_truncate_metrics_keeps_history_up_to_the_checkpoint(tmp_path) -> None:
    from colorbench.train.logging import truncate_metrics

    tsv = tmp_path / "plots/metrics/pretrain/loss.tsv"
    tsv.parent.mkdir(parents=True)
    tsv.write_text("timestamp\tstep\tloss\n1\t1\t0.5\n2\t2\t0.4\n3\t3\t0.3\n")
    truncate_metrics(tmp_path / "plots/metrics", 2)
    assert tsv.read_text() == "timestamp\tstep\tloss\n1\t1\t0.5\n2\t2\t0.4\n"
    assert sorted(p.name for p in tsv.parent.iterdir()) == ["loss.tsv"]  # no temporaries


def test_resume_after_dvc_removed_the_logs_keeps_the_whole_history(tmp_path: Path) -> None:
    """DVC deletes a stage's outs (logs/<run>) before re-running it: the resumed run must
    still log every step, byte-identical to an uninterrupted run's histories."""
    import shutil

    data = ToyData()
    ref = build(tmp_path / "ref")
    ref.run(PHASES, data)
    ref.close()
    run = tmp_path / "run"
    loop = build(run)
    with pytest.raises(Interrupt):
        loop.run(PHASES, data, on_step_end=interrupt_at(17))
    loop.close()
    shutil.rmtree(run / "logs")  # what `dvc repro` does to the stage's outs
    loop = build(run)
    loop.run(PHASES, data)
    loop.close()
    assert loop.resumed_from == 15
    ref_dir, run_dir = (p / "logs" / "toy" / "plots" / "metrics" for p in (tmp_path / "ref", run))
    ref_files = sorted(p.relative_to(ref_dir) for p in ref_dir.rglob("*.tsv"))
    assert ref_files == sorted(p.relative_to(run_dir) for p in run_dir.rglob("*.tsv"))
    assert (ref_dir / "pre" / "l1.tsv").read_text().count("\n") > 5
    for rel in ref_files:
        assert (run_dir / rel).read_text() == (ref_dir / rel).read_text(), rel


def _ddp_equivalence_worker(rank: int, world: int, port: int, root: str, q) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))  # fmt: skip
    torch.set_num_threads(1)
    here = Path(root) / f"rank{rank}"
    here.mkdir()
    os.chdir(here)
    cfg = LoopConfig(run_name="nobn", seed=0, device="cpu", batch_size=4, checkpoint_every=0,
                     log_every=2, checkpoint_dir=Path("ckpt/nobn"), log_dir=Path("logs/nobn"),
                     progress=False)  # fmt: skip
    loop = TrainLoop(cfg, run_config={"lr": 0.01})
    torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
    loop.add_module("G", nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(6, 2, 3, padding=1)))  # fmt: skip
    loop.add_optimizer("g", torch.optim.Adam(loop.parameters("G"), lr=0.01))
    # numpy copies: torch tensors would cross the queue as shared memory of a dead process
    init = {k: v.numpy().copy() for k, v in loop.unwrap("G").state_dict().items()}
    seen: list[tuple] = []

    def step(batch, ctx):
        seen.append((batch["x"].numpy().copy(), batch["y"].numpy().copy()))
        return pre_step(batch, ctx)

    loop.run([Phase("pre", step, epochs=2, train=["G"])], ToyData())
    final = {k: v.detach().numpy().copy() for k, v in loop.unwrap("G").state_dict().items()}
    q.put((rank, init, final, seen))
    loop.close()


@pytest.mark.slow  # two spawned interpreters
@pytest.mark.skipif(sys.platform != "linux", reason="gloo over 127.0.0.1 on linux")
def test_ddp_equals_one_process_on_the_union_of_disjoint_shards(tmp_path: Path) -> None:
    """No BatchNorm, mean L1 loss: two DDP ranks (batch 4 each, disjoint shards) must train
    the weights one process gets from the same 8 samples per step in one batch."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    port = _free_port()
    procs = [ctx.Process(target=_ddp_equivalence_worker, args=(r, 2, port, str(tmp_path), q))
             for r in range(2)]  # fmt: skip
    for p in procs:
        p.start()
    results = sorted((q.get() for _ in range(2)), key=lambda r: r[0])
    for p in procs:
        p.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    (_, init0, final0, seen0), (_, _, final1, seen1) = results
    assert len(seen0) == len(seen1) == 6  # 24 samples / 2 ranks / batch 4, 2 epochs
    for (x0, _), (x1, _) in zip(seen0, seen1, strict=True):  # disjoint shards every step
        rows0, rows1 = (
            {tuple(r.flatten().tolist()) for r in x0},
            {tuple(r.flatten().tolist()) for r in x1},
        )
        assert not rows0 & rows1
    ref = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 2, 3, padding=1))
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in init0.items()})
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    for (x0, y0), (x1, y1) in zip(seen0, seen1, strict=True):
        x, y = (
            torch.from_numpy(np.concatenate([x0, x1])),
            torch.from_numpy(np.concatenate([y0, y1])),
        )
        loss = nn.functional.l1_loss(ref(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(torch.from_numpy(final0[k]), v, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(torch.from_numpy(final1[k]), v, rtol=1e-5, atol=1e-6)


def test_nan_in_a_parameter_with_finite_loss_is_never_checkpointed(tmp_path: Path) -> None:
    """A NaN written into a weight the loss does not see (D, during phase pre) leaves every
    loss finite: the checkpoint guard must still refuse it and keep the last good file."""

    def poisoned(batch, ctx):
        out = pre_step(batch, ctx)
        if ctx.global_step + 1 == 5:
            with torch.no_grad():
                ctx.unwrap("D")[0].weight[0, 0, 0, 0] = float("nan")
        return out

    loop = build(tmp_path, every=3)
    with pytest.raises(NonFiniteLossError, match=r"non-finite weights \(D\.0\.weight\) at step 6"):
        loop.run([Phase("pre", poisoned, epochs=2, train=["G"])], ToyData())
    loop.close()
    state = load_checkpoint(tmp_path / "ckpt" / "toy" / "last.pt")
    assert state["position"]["step"] == 3
    for module in state["modules"].values():
        assert all(torch.isfinite(v.float()).all() for v in module.values())
