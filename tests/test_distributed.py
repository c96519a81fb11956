"""Training on several processes (torch.distributed, gloo on CPU): K processes x B train as one
process x K*B, rank 0 writes the run, and resume works under DDP."""
import csv
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from boxlcd.dataset import collect  # noqa: E402
from boxlcd.models import distributed  # noqa: E402
from boxlcd.models.checkpoint import load_model  # noqa: E402
from boxlcd.models.train import _train_with_threads, train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = {"d_model": 32, "layers": 1, "heads": 2}
STEPS = 6


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    collect("Urchin", 40, root / "urchin", seed=0, shard_size=20, progress=False, ep_len=10)
    return root / "urchin"


def losses(run) -> list[float]:
    with open(run / "log.csv") as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def kwargs(batch: int, **extra) -> dict:
    return dict(steps=STEPS, batch=batch, device="cpu", warmup=2, lr=3e-3, log_every=1, progress=False, **TINY,
                **extra)


@pytest.fixture(scope="module")
def one_process(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "run"
    train("frame_transformer", data, out, **kwargs(8))
    return out


def assert_same_run(a, b):
    assert len(losses(a)) == STEPS == len(losses(b))
    assert losses(a) == pytest.approx(losses(b), rel=1e-5, abs=1e-6)
    ma, mb = load_model(a)[0].state_dict(), load_model(b)[0].state_dict()
    for k in ma:
        torch.testing.assert_close(ma[k], mb[k], rtol=1e-3, atol=2e-4)  # Adam magnifies float noise near 0


def test_torchrun_two_processes_train_as_one_with_the_global_batch(data, one_process, tmp_path):
    """torchrun --nproc_per_node=2, --batch 4: the same loss at every step and the same weights
    as one process with --batch 8; rank 0 alone wrote the log (one row per step)."""
    out = tmp_path / "two"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "boxlcd.models.train", "frame_transformer", "--data", str(data), "--out", str(out),
           "--batch", "4", "--steps", str(STEPS), "--warmup", "2", "--lr", "3e-3", "--log-every", "1",
           "--device", "cpu", "-q"] + [f"--set={k}={v}" for k, v in TINY.items()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_run(out, one_process)
    assert load_model(out)[1]["run"]["processes"] == 2


def test_resume_under_ddp(data, one_process, tmp_path):
    """Two processes stopped after 3 steps (as a killed job would be) and started again end
    where an uninterrupted run ends."""
    out = str(tmp_path / "resumed")
    distributed.launch(2, _train_with_threads, 1, ("frame_transformer", str(data), out), kwargs(4, stop_after=3))
    assert len(losses(tmp_path / "resumed")) == 3
    distributed.launch(2, _train_with_threads, 1, ("frame_transformer", str(data), out), kwargs(4))
    assert_same_run(tmp_path / "resumed", one_process)
    ckpt = load_model(out)[1]
    assert ckpt["step"] == STEPS and len(ckpt["torch_rng_ranks"]) == 2


def test_nproc_is_refused_where_it_cannot_work(data, tmp_path):
    from boxlcd.cli import main

    with pytest.raises(SystemExit, match="fit by counting in one pass"):
        main(["train", "marginal", "--data", str(data), "--out", str(tmp_path / "m"), "--nproc", "2"])
    with pytest.raises(SystemExit, match="--nproc must be >= 1"):
        main(["train", "frame_transformer", "--data", str(data), "--out", str(tmp_path / "f"), "--nproc", "0"])
    assert distributed.my_slice(list(range(8)), distributed.Ranks(1, 2)) == [4, 5, 6, 7]
