"""Training throughput of the whole step at 256x256, batch 8, full width (issue: colorcore training).

The whole step: DataLoader decoding LFW JPEGs, Lab conversion, soft-encoding, forward, backward,
Adam. This implementation (precision auto: bfloat16 autocast + channels-last on a CPU with
bfloat16 units, plain fp32 elsewhere) against a plain fp32 NCHW run of the same network, in the
same run; on a CPU without bfloat16 units, forced bfloat16 as well. Also the
soft-encoding throughput at 64x64 and its share of a training step.

    .venv/bin/python bench/train_throughput.py [--steps 4] [--data ../shared/data/lfw-deepfunneled]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from colorcore.color import rgb_to_lab  # noqa: E402
from colorcore.data import ImageFolderDataset, list_images, scan  # noqa: E402
from colorcore.encoding import learn_bins  # noqa: E402
from colorcore.model import ColorizationNet, ModelConfig  # noqa: E402
from colorcore.runtime import pick_runtime  # noqa: E402
from colorcore.train import EpochSampler, train_step  # noqa: E402


def measure(precision: str, files, bins, steps: int, batch: int, size: int, workers: int) -> float:
    torch.manual_seed(0)
    rt = pick_runtime("cpu", precision)
    config = ModelConfig(q=bins.q)
    model = rt.format_model(ColorizationNet(config))
    opt = torch.optim.Adam(model.parameters(), lr=3e-5, betas=(0.9, 0.99), weight_decay=1e-3)
    dataset = ImageFolderDataset(files, size)
    loader = DataLoader(dataset, batch_size=batch, sampler=EpochSampler(len(dataset), 0, 0), num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0)
    it = iter(loader)
    train_step(model, opt, next(it), bins, config, rt)  # warm-up: allocations, oneDNN primitive creation
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, next(it), bins, config, rt)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/lfw-deepfunneled"))
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    files = list_images(Path(args.data))[:400]
    scanned = scan(files[:200], 64)
    bins = learn_bins(scanned.histogram)
    print(f"Q = {bins.q} bins from {len(scanned.usable)} images; torch {torch.__version__}, {torch.get_num_threads()} threads")

    ours = measure("auto", files, bins, args.steps, args.batch, args.size, args.workers)
    plain = measure("fp32", files, bins, max(2, args.steps // 2), args.batch, args.size, args.workers)
    auto = pick_runtime("cpu", "auto").precision
    print(f"training step, whole (256x256, batch {args.batch}): colorcore auto ({auto}) {ours:.2f} img/s "
          f"({1 / ours:.3f} s/img), plain fp32 NCHW {plain:.2f} img/s ({1 / plain:.3f} s/img), speed-up {ours / plain:.2f}x")
    if auto == "fp32":
        # No bfloat16 units on this CPU: show what auto avoided by not autocasting to bfloat16.
        forced = measure("bf16", files, bins, max(2, args.steps // 2), args.batch, args.size, args.workers)
        print(f"  bfloat16 forced (emulated without bfloat16 units): {forced:.2f} img/s, {plain / forced:.1f}x slower than fp32")

    rgb = torch.stack([ImageFolderDataset(files[:8], 64)[i] for i in range(8)])
    ab = rgb_to_lab(rgb)[:, 1:]
    bins.soft_encode(ab)  # builds the lookup table once
    reps = 200
    start = time.perf_counter()
    for _ in range(reps):
        bins.soft_encode(ab)
    per_batch = (time.perf_counter() - start) / reps
    step_time = args.batch / ours
    print(f"soft-encoding at 64x64: {8 / per_batch:,.0f} targets/s ({per_batch * 1e3:.2f} ms per batch of 8), "
          f"{100 * per_batch / step_time:.2f}% of a training step")


if __name__ == "__main__":
    main()
