"""Training one model on several processes with torch.distributed (DistributedDataParallel).

  torchrun --nproc_per_node=K -m boxlcd.models.train MODEL --data DIR ...   (or boxlcd train ... --nproc K)

The contract, which makes K processes train exactly as one would:
- Every rank holds the same sampler (same seed) and draws the **global** batch of window
  indices that one process with batch K x B would draw; rank r trains on its r-th slice of B.
  So 2 processes x 16 see exactly the samples of 1 x 32, and the mean of the ranks' losses is
  the loss of the global batch (DDP averages the gradients the same way).
- The model starts from rank 0's weights (DDP broadcasts them), so every rank stays identical.
- Rank 0 alone writes the checkpoint, config.json and log.csv; the logged values are the
  global means. Every rank resumes from the same checkpoint.
- Random draws inside a model's loss (the RSSM's and binary AE's noise) are seeded per rank,
  so those models match one process in distribution, not bit for bit.
- Stopping (--time-limit) is decided by rank 0 and shared, so no rank waits for another.

Backends: gloo on CPU, NCCL on CUDA (each rank on cuda:LOCAL_RANK). Without torchrun's
environment (WORLD_SIZE unset) everything here is a no-op for one process.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes files and draws progress bars."""
        return self.rank == 0


def launched() -> bool:
    """Whether torchrun (or another launcher) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str) -> tuple[Ranks, str]:
    """Joins the process group when launched by torchrun; returns the ranks and this rank's
    device (cuda:LOCAL_RANK for a CUDA run)."""
    if not launched():
        return Ranks(), device
    ranks = Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    cuda = str(device).startswith("cuda")
    if cuda:
        device = f"cuda:{ranks.local_rank}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return ranks, device


def teardown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def my_slice(indices, ranks: Ranks):
    """This rank's part of the global batch (all of it for one process)."""
    size = len(indices) // ranks.world
    return indices[ranks.rank * size:(ranks.rank + 1) * size]


def global_means(values: dict[str, float], ranks: Ranks, device: str) -> dict[str, float]:
    """The mean of each value over the ranks (the values themselves for one process)."""
    if ranks.world == 1:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(values, (t / ranks.world).tolist()))


def rank0_says(flag: bool, ranks: Ranks, device: str) -> bool:
    """Rank 0's flag on every rank (a decision such as stopping that must be shared)."""
    if ranks.world == 1:
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.broadcast(t, 0)
    return bool(t.item())


def gather_objects(obj, ranks: Ranks) -> list:
    """Every rank's `obj`, in rank order, on every rank."""
    if ranks.world == 1:
        return [obj]
    out = [None] * ranks.world
    dist.all_gather_object(out, obj)
    return out


class LossModule(torch.nn.Module):
    """A model's loss as forward(), which is what DDP wraps and synchronises."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: dict):
        return self.model.loss(batch)


def loss_function(model: torch.nn.Module, ranks: Ranks, device: str):
    """model.loss for one process; for several, the same through DistributedDataParallel."""
    if ranks.world == 1:
        return model.loss
    from torch.nn.parallel import DistributedDataParallel

    ids = [torch.device(device).index] if str(device).startswith("cuda") else None
    return DistributedDataParallel(LossModule(model), device_ids=ids)


class ChildError(RuntimeError):
    """The first error of the processes `launch` started, as one line."""


def max_processes(device: str | None = None) -> int:
    """The most processes `launch` starts: one per GPU for a CUDA run, one per CPU core for a CPU
    run, and the larger of the two when the device is not known."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device is None:
        return max(os.cpu_count() or 1, gpus)
    return gpus if str(device).startswith("cuda") else os.cpu_count() or 1


def check_nproc(nproc: int, device: str | None = None, name: str = "nproc") -> None:
    """A clear error, naming the setting `name`, for more processes than the machine has cores
    (or GPUs on CUDA): each holds a copy of the model and the data, and a thousand of them only
    meet the OOM killer."""
    limit = max_processes(device)
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {nproc!r}")
    if nproc > limit:
        where = ("CUDA devices" if str(device).startswith("cuda") else "CPU cores") if device else "CPU cores or GPUs"
        raise ValueError(f"{name} must be at most the {where} of this machine ({limit}), got {nproc}")


def _child(errors: str, entrypoint, *args):
    """Runs entrypoint(*args) in a launched process; an error becomes one line in the folder
    `errors` and exit code 1, so neither this process nor the launcher prints a traceback."""
    try:
        return entrypoint(*args)
    except KeyboardInterrupt:
        raise  # Ctrl-C reached every process; the launcher reports it
    except BaseException as e:
        if isinstance(e, SystemExit) and not e.code:
            return None
        from boxlcd.cli import error_line, wants_traceback

        if wants_traceback():
            import traceback

            traceback.print_exc()
        line = str(e.code) if isinstance(e, SystemExit) else error_line(e)
        with open(os.path.join(errors, os.environ.get("RANK", "0")), "w") as f:
            f.write(line)
    sys.exit(1)


def _first_error(errors: str, rank: int, failure, nproc: int) -> str:
    """The line the failed process left (or another's, when it was killed first), else its end."""
    names = [str(rank)] + sorted(os.listdir(errors), key=lambda n: os.path.getmtime(os.path.join(errors, n)))
    for name in names:
        path = os.path.join(errors, name)
        if os.path.exists(path):
            with open(path) as f:
                return f"process {name} of {nproc}: {f.read()}"
    how = (f"exit code {failure.exitcode}" if failure.exitcode >= 0
           else f"signal {failure.signal_name()} (out of memory, or killed)")
    return f"process {rank} of {nproc} ended with {how} and left no error"


@contextmanager
def _quiet_launcher():
    """torch's launcher logs each failure with tracebacks, and each process it stops, through
    loggers that set their own levels; the error `launch` raises says it in one line."""
    from boxlcd.cli import wants_traceback

    before = logging.root.manager.disable
    if not wants_traceback():
        logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)


def launch(nproc: int, entrypoint, *args, device: str | None = None) -> None:
    """Runs entrypoint(*args) on `nproc` local processes, as torchrun --standalone does; at most
    max_processes(device). A failure in any process raises ChildError with that process's error
    in one line (the others are stopped)."""
    import tempfile
    import uuid

    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    check_nproc(nproc, device)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=uuid.uuid4().hex,
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    with tempfile.TemporaryDirectory(prefix="boxlcd-launch-") as errors, _quiet_launcher():
        try:
            elastic_launch(config, _child)(errors, entrypoint, *args)
        except ChildFailedError as e:
            rank, failure = e.get_first_failure()
            raise ChildError(_first_error(errors, rank, failure, nproc)) from None
        except SignalException as e:
            if e.sigval == signal.SIGINT:
                raise KeyboardInterrupt from None
            raise ChildError(f"stopped by {e.sigval.name}") from None
