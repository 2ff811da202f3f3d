"""SIGTERM (how a background training is stopped) and SIGINT to the whole process group (Ctrl-C in a
terminal, which also reaches the MuJoCo worker processes; here with SIGINT ignored on start, as a shell
starts a background job) save the last completed iteration and exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hover.checkpoints import latest_checkpoint


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("how", ["sigterm", "sigint_to_group"])
def test_stop_signal_saves_a_resumable_checkpoint(tmp_path, how):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "hover.cli", "train", "teacher", "--num-envs", "2", "--num-threads", "1",
           "--max-iterations", "100000", "--save-interval", "100000", "--ppo.num-steps-per-env", "4",
           "--ppo.num-learning-epochs", "1", "--ppo.num-mini-batches", "1", "--run-dir", str(run)]  # fmt: skip
    background = how == "sigint_to_group"
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=background,
        preexec_fn=_ignore_sigint if background else None,
    )
    try:
        deadline = time.time() + 60
        while not (run / "model_0.pt").exists():  # rsl-rl saves iteration 0
            assert proc.poll() is None and time.time() < deadline, "training did not start"
            time.sleep(0.2)
        time.sleep(2.0)
        if background:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-2000:]
    assert "stopping after this iteration" in out and "interrupted: saved" in out
    ckpt = latest_checkpoint(run)
    state = torch.load(ckpt, weights_only=True)
    assert ckpt.name == f"model_{state['iter']}.pt" and state["iter"] >= 1
    assert state["logger"]["tot_timesteps"] == (state["iter"] + 1) * 2 * 4
