"""Multi-process teacher training: 2 ranks, gloo on the CPU, launched like torchrun would.

The ranks run different envs (seeds 0 and 1), so their weights stay equal only if rsl-rl
broadcasts the initial weights and all-reduces every gradient; each rank prints its checksum after
training and the run fails if they differ.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hover.training.distributed import DistInfo, dist_info, parameter_checksum, rank_device, rank_seed

FAST = ["--num-envs", "4", "--num-threads", "1", "--torch-threads", "1", "--update-threads", "1",
        "--save-interval", "1", "--ppo.num-steps-per-env", "8", "--ppo.num-learning-epochs", "2",
        "--ppo.num-mini-batches", "2", "--max-iterations", "2"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dist_info_from_torchrun_environment():
    assert dist_info({}) == DistInfo(0, 0, 1) and not dist_info({}).is_distributed
    info = dist_info({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert info.is_distributed and not info.is_main
    assert rank_device("cuda", info) == "cuda:1" and rank_device("cpu", info) == "cpu"
    assert rank_seed(7, info) == 10
    with pytest.raises(ValueError, match="invalid"):
        dist_info({"RANK": "2", "WORLD_SIZE": "2"})


def test_two_ranks_end_with_identical_weights_and_only_rank0_writes(tmp_path: Path):
    run_dir = tmp_path / "run"
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            OMP_NUM_THREADS="1",
        )
        cmd = [sys.executable, "-m", "hover", "train", "teacher", *FAST, "--run-dir", str(run_dir)]
        procs.append(
            subprocess.Popen(
                cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        outs.append(out)
        assert p.returncode == 0, out[-3000:]
    sums = []
    for rank, out in enumerate(outs):
        m = re.search(rf"rank {rank}/2: actor weights in sync, checksum (\S+)", out)
        assert m, out[-3000:]
        sums.append(float(m.group(1)))
    assert sums[0] == sums[1]
    # rank 0 wrote the run folder; the final checkpoint holds the synchronised weights
    names = sorted(p.name for p in run_dir.iterdir())
    assert "config.json" in names and "model_1.pt" in names, names
    ckpt = torch.load(run_dir / "model_1.pt", weights_only=True, map_location="cpu")
    actor = torch.nn.Module()
    for i, v in enumerate(ckpt["actor_state_dict"].values()):
        actor.register_buffer(f"b{i}", v)
    assert parameter_checksum(actor) == pytest.approx(sums[0], rel=0, abs=1e-9)
    # rank 1 wrote nothing anywhere: its working folder holds no run, the run folder one set of files
    assert not (tmp_path / "runs").exists()
    assert len([n for n in names if n.startswith("events.out.tfevents")]) == 1, names
