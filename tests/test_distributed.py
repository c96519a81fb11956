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


def test_nproc_is_refused_where_it_cannot_work(data, tmp_path, capsys):
    from boxlcd.cli import main

    for argv, message in ((["marginal", "--nproc", "2"], "fit by counting in one pass"),
                          (["frame_transformer", "--nproc", "0"], "--nproc must be >= 1")):
        assert main(["train", argv[0], "--data", str(data), "--out", str(tmp_path / "r"), *argv[1:]]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert distributed.my_slice(list(range(8)), distributed.Ranks(1, 2)) == [4, 5, 6, 7]


def test_nproc_is_capped_by_the_machine(data, tmp_path, capsys):
    """1000 spawned workers ran until the OOM killer came: more than the cores (GPUs on CUDA)
    are refused by name, before any process starts."""
    from boxlcd.cli import main

    cores = os.cpu_count()
    with pytest.raises(ValueError, match=rf"nproc must be at most the CPU cores of this machine \({cores}\), "
                                         rf"got {cores + 1}"):
        distributed.check_nproc(cores + 1, "cpu")
    with pytest.raises(ValueError, match="nproc must be a whole number >= 1"):
        distributed.check_nproc(0, "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"CUDA devices of this machine \(0\)"):
            distributed.check_nproc(1, "cuda")
    with pytest.raises(ValueError, match="nproc must be at most"):
        distributed.launch(1000, _train_with_threads, 1, ("frame_transformer", str(data), str(tmp_path / "x")), {})
    assert main(["train", "frame_transformer", "--data", str(data), "--out", str(tmp_path / "f"),
                 "--nproc", "1000", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "boxlcd train: --nproc must be at most the CPU cores" in err, err
    assert not (tmp_path / "f").exists()


def fail_on_rank_1():
    """Rank 1 fails while rank 0 waits for it in a collective (the timeout only bounds a hang)."""
    import datetime

    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    if dist.get_rank() == 1:
        raise KeyError("boom")
    dist.barrier()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two processes need two cores")
def test_a_process_failing_is_one_line_and_stops_the_others(capfd):
    """The launcher used to print each process's traceback and raise a 44-line ChildFailedError."""
    with pytest.raises(distributed.ChildError) as e:
        distributed.launch(2, fail_on_rank_1)
    assert str(e.value).startswith("process 1 of 2: KeyError: 'boom'")
    out, err = capfd.readouterr()  # the processes' own output too
    assert "Traceback" not in out + err and "ChildFailedError" not in err, err


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two processes need two cores")
def test_boxlcd_train_nproc_errors_are_one_line(data, tmp_path):
    cmd = [sys.executable, "-m", "boxlcd", "train", "frame_transformer", "--data", str(data), "--out",
           str(tmp_path / "run"), "--nproc", "2", "--device", "cpu", "--steps", "2", "-q", "--set", "bogus=3"]
    env = {k: v for k, v in os.environ.items() if k != "BOXLCD_TRACEBACK"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**env, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("boxlcd train: process ") and "has no settings ['bogus']" in done.stderr
