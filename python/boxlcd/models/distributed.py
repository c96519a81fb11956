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

import os
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


def launch(nproc: int, entrypoint, *args) -> None:
    """Runs entrypoint(*args) on `nproc` local processes, as torchrun --standalone does."""
    import uuid

    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=uuid.uuid4().hex,
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    elastic_launch(config, entrypoint)(*args)
