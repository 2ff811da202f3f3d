"""Multi-process (multi-GPU) training with torchrun and rsl-rl-lib's multi-GPU support.

Launch one process per GPU::

    torchrun --standalone --nproc_per_node=N -m hover train teacher --device cuda --backend mjwarp ...

torchrun sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` (and the rendezvous address); without them
training runs as a single process. Each rank simulates ``--num-envs`` envs of its own (the batch
per PPO update is ``N x num_envs x num_steps_per_env``) on ``cuda:<LOCAL_RANK>`` and seeds its env
and torch with ``seed + RANK``; rsl-rl broadcasts rank 0's initial weights, all-reduces (averages)
the gradients of every mini-batch and the observation-normaliser statistics, and broadcasts the
adaptive learning rate, so all ranks hold identical weights. Only rank 0 writes the run folder
(config, TensorBoard logs, checkpoints). On a CPU (tests) the process group uses gloo, on CUDA nccl.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from hover.training.runner import HoverRunner


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a torchrun job (world_size 1 = not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info(environ: Mapping[str, str] | None = None) -> DistInfo:
    """Rank, local rank and world size from torchrun's environment variables (defaults 0, 0, 1)."""
    env = os.environ if environ is None else environ
    try:
        info = DistInfo(
            int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0")), int(env.get("WORLD_SIZE", "1"))
        )
    except ValueError as e:
        raise ValueError(f"RANK/LOCAL_RANK/WORLD_SIZE must be integers: {e}") from e
    if (
        info.world_size < 1
        or not (0 <= info.rank < info.world_size)
        or not (0 <= info.local_rank < info.world_size)
    ):
        raise ValueError(f"invalid torchrun environment: {info}")
    return info


def rank_device(device: str, info: DistInfo) -> str:
    """``cuda`` -> ``cuda:<local_rank>`` for a distributed job; ``cpu`` and explicit ``cuda:i`` are kept."""
    if info.is_distributed and device == "cuda":
        return f"cuda:{info.local_rank}"
    return device


def rank_seed(seed: int, info: DistInfo) -> int:
    """Per-rank seed: ranks must explore different episodes."""
    return seed + info.rank


def rank_config(cfg, info: DistInfo):
    """A training config (with ``device`` and ``seed`` fields) with this rank's device and seed."""
    return dataclasses.replace(cfg, device=rank_device(cfg.device, info), seed=rank_seed(cfg.seed, info))


def init_process_group(info: DistInfo, device: str) -> None:
    """Join the torchrun job (nccl on CUDA, gloo on CPU); no-op when not distributed or already joined."""
    if not info.is_distributed or torch.distributed.is_initialized():
        return
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    torch.distributed.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)


def shutdown() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def parameter_checksum(module: torch.nn.Module) -> float:
    """Sum of all parameters and buffers in float64 (a cheap fingerprint of the weights)."""
    with torch.no_grad():
        return float(sum(t.detach().double().sum().cpu() for t in module.state_dict().values()))


def check_in_sync(module: torch.nn.Module, info: DistInfo) -> float:
    """Raise if the ranks' weights differ (a desynchronised run); return this rank's checksum."""
    value = parameter_checksum(module)
    if info.is_distributed:
        mine = torch.tensor([value], dtype=torch.float64)
        if torch.distributed.get_backend() == "nccl":
            mine = mine.cuda()
        gathered = [torch.zeros_like(mine) for _ in range(info.world_size)]
        torch.distributed.all_gather(gathered, mine)
        values = [float(g.item()) for g in gathered]
        if any(v != values[0] for v in values):
            raise RuntimeError(f"ranks hold different weights after training (checksums {values})")
    return value


def report_sync(runner, info: DistInfo) -> None:
    """After training: check that all ranks hold the same actor weights and print the checksum."""
    if info.is_distributed:
        checksum = check_in_sync(runner.alg.actor, info)
        print(f"rank {info.rank}/{info.world_size}: actor weights in sync, checksum {checksum!r}", flush=True)


class DistributedHoverRunner(HoverRunner):
    """HoverRunner whose multi-GPU set-up also accepts CPU devices (gloo), e.g. for tests.

    rsl-rl's own set-up insists on ``cuda:<LOCAL_RANK>`` and nccl; everything else (weight
    broadcast, gradient all-reduce, rank-0-only logging) is rsl-rl's.
    """

    def _configure_multi_gpu(self) -> None:
        info = dist_info()
        self.gpu_world_size, self.gpu_local_rank, self.gpu_global_rank = (
            info.world_size,
            info.local_rank,
            info.rank,
        )
        self.is_distributed = info.is_distributed
        if not info.is_distributed:
            self.cfg["multi_gpu"] = None
            return
        expected = rank_device("cuda", info) if str(self.device).startswith("cuda") else "cpu"
        if str(self.device) != expected:
            raise ValueError(
                f"rank {info.rank}: device {self.device!r}, expected {expected!r} for LOCAL_RANK {info.local_rank}"
            )
        self.cfg["multi_gpu"] = {
            "global_rank": info.rank,
            "local_rank": info.local_rank,
            "world_size": info.world_size,
        }
        init_process_group(info, str(self.device))

    def save(self, path: str, infos: dict | None = None) -> None:
        """Only rank 0 writes checkpoints (the weights are identical on every rank)."""
        if self.gpu_global_rank == 0:
            super().save(path, infos)
