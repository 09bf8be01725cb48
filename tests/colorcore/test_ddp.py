"""Multi-process training with torch.distributed (DDP), started with torchrun, on the CPU (gloo)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from ..conftest import ROOT, TRAIN_PHOTOS


def test_torchrun_trains_two_ranks_on_disjoint_shards_and_rank_zero_writes_the_run(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "colorcore", "train",
           "--data", str(TRAIN_PHOTOS), "--out", str(out), "--width", "0.125", "--image-size", "64", "--max-steps", "3",
           "--epochs", "100", "--workers", "0", "--device", "cpu", "--precision", "fp32", "--batch-size", "4"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    ranks = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(ranks) == 2 and all(r["steps"] == 3 for r in ranks)
    assert ranks[0]["mean_loss_first_100_steps"] != ranks[1]["mean_loss_first_100_steps"]  # each rank saw its own shard of the data
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1]  # the first step, logged once (by rank 0), not once per rank
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 3
