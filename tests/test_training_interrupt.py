"""SIGTERM (how a background training is stopped) saves the last completed iteration and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import torch

from hover.checkpoints import latest_checkpoint


def test_sigterm_saves_a_resumable_checkpoint(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "hover.cli", "train", "teacher", "--num-envs", "2", "--num-threads", "1",
           "--max-iterations", "100000", "--save-interval", "100000", "--ppo.num-steps-per-env", "4",
           "--ppo.num-learning-epochs", "1", "--ppo.num-mini-batches", "1", "--run-dir", str(run)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while not (run / "model_0.pt").exists():  # rsl-rl saves iteration 0
            assert proc.poll() is None and time.time() < deadline, "training did not start"
            time.sleep(0.2)
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-2000:]
    assert "interrupted: saved" in out
    ckpt = latest_checkpoint(run)
    state = torch.load(ckpt, weights_only=True)
    assert ckpt.name == f"model_{state['iter']}.pt" and state["iter"] >= 1
    assert state["logger"]["tot_timesteps"] == (state["iter"] + 1) * 2 * 4
