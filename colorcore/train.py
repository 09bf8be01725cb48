"""Training: ``train(config) -> TrainResult``. Checkpoints resume exactly; DDP through torchrun.

The run folder holds ``config.json``, ``split.json``, ``bins.pt`` (bins, prior, weights),
``metrics.jsonl`` (one JSON object per logged step) and ``last.pt`` (everything to resume).
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler

from . import checkpoint as checkpoint_format
from .color import rgb_to_lab
from .data import DataError, ImageFolderDataset, scan, split_files, write_split
from .encoding import ColorBins, learn_bins
from .model import ColorizationNet, ModelConfig
from .runtime import Runtime, pick_runtime

logger = logging.getLogger(__name__)
LOSSES = ("ce", "l2")


@dataclass(frozen=True)
class TrainConfig:
    data: str  # folder of images (LFW layout or any tree)
    out: str  # run folder
    loss: str = "ce"  # "ce": class-rebalanced cross-entropy (seed eq. 1-2); "l2": Euclidean (eq. 4)
    epochs: int = 2  # the seed trained two passes over LFW
    batch_size: int = 8
    lr: float = 3e-5  # Adam, as the seed (section 4.6)
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 1e-3
    image_size: int = 256  # LFW's 250 x 250 is resized to 256
    width: float = 1.0  # channel multiplier of the network
    flip: bool = True  # random horizontal flips
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    grid: int = 10  # ab bin size
    lam: float = 0.5  # mixing with the uniform distribution in the weights
    sigma: float = 5.0  # Gaussian of the prior smoothing and of the soft-encoding
    prior_size: int = 64  # resolution at which the ab histogram is taken
    max_steps: int | None = None  # stop early (tests, benchmarks)
    log_every: int = 10
    val_every: int = 0  # steps between validations; 0: at the end of each epoch
    val_images: int = 64  # validation subset size
    checkpoint_every: int = 200
    report_every: int = 100  # steps between progress lines where no terminal shows a bar (also every minute)
    workers: int = 2

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.image_size % 8:
            raise ValueError(f"image size must be a multiple of 8, got {self.image_size}")


SUMMARY_STEPS = 100  # the summary's first and last losses are means over this many steps: one batch is noise


@dataclass
class TrainResult:
    out: Path
    steps: int
    first_loss: float  # mean training loss of the first SUMMARY_STEPS steps
    last_loss: float  # ... and of the last SUMMARY_STEPS steps
    images_per_second: float
    skipped_gray: int
    skipped_unreadable: int
    history: list[dict] = field(default_factory=list)


class ProgressLog:
    """What a run says when no terminal shows a progress bar (a log file, nohup, CI): one line every
    ``every_steps`` steps or ``every_seconds`` seconds with images/s, the smoothed loss and the time
    left; and the losses the summary reports, averaged over the first and last steps."""

    def __init__(self, total: int, start_step: int, first: list[float], every_steps: int = 100,
                 every_seconds: float = 60.0, enabled: bool = True) -> None:
        self.total, self.start_step, self.enabled = total, start_step, enabled
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self.first = list(first)[:SUMMARY_STEPS]  # carried over by a resumed run's checkpoint
        self.last: list[float] = []
        self.smoothed = float("nan")
        self.started = self.said = time.perf_counter()

    def step(self, step: int, loss: float, images_per_s: float, epoch: int) -> None:
        if len(self.first) < SUMMARY_STEPS:
            self.first.append(loss)
        self.last = (self.last + [loss])[-SUMMARY_STEPS:]
        # exponential smoothing over about 50 steps; the first value starts it
        self.smoothed = loss if self.smoothed != self.smoothed else 0.98 * self.smoothed + 0.02 * loss
        now = time.perf_counter()
        due = step % self.every_steps == 0 or now - self.said >= self.every_seconds or step == self.total
        if self.enabled and due:
            self.said = now
            done = step - self.start_step
            left = (self.total - step) * (now - self.started) / done if done else float("nan")
            logger.info("step %d/%d (epoch %d): %.2f images/s, loss %.4f (smoothed), %s left", step, self.total, epoch,
                        images_per_s, self.smoothed, _duration(left))

    @property
    def first_mean(self) -> float:
        return float(np.mean(self.first)) if self.first else float("nan")

    @property
    def last_mean(self) -> float:
        return float(np.mean(self.last)) if self.last else float("nan")


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "unknown time"
    if seconds < 60:
        return f"{int(seconds)}s"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


class EpochSampler(Sampler):
    """A seeded permutation per epoch, yielding (index, flip); ``start`` skips what a resumed run has seen."""

    def __init__(self, n: int, seed: int, epoch: int, start: int = 0, rank: int = 0, world: int = 1,
                 flip: bool = True) -> None:
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=g)[rank::world]
        flips = (torch.rand(len(perm), generator=g) < 0.5) & flip
        self.items = list(zip(perm.tolist(), flips.tolist(), strict=True))[start:]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def compute_loss(output: torch.Tensor, ab: torch.Tensor, bins: ColorBins | None, config: ModelConfig) -> torch.Tensor:
    """Loss of a batch. ``output`` (B, Q|2, h, w); ``ab`` the ground truth (B, 2, H, W)."""
    target = F.adaptive_avg_pool2d(ab, output.shape[-2:])  # (B, 2, h, w): the ground truth at h x w
    if config.head == "regression":
        diff = output.float() - target / config.ab_scale
        return 0.5 * diff.pow(2).sum(1).mean()  # eq. (4), in ab / 110 units, mean over pixels
    idx, w = bins.soft_encode(target)  # (B, k, h, w) each
    # Bins last (B, h, w, Q): the log-softmax runs over the innermost axis of a channels-last output.
    logp = torch.log_softmax(output.permute(0, 2, 3, 1).float(), dim=-1)
    ce = -(w * logp.gather(-1, idx.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)).sum(1)  # (B, h, w): eq. (1)
    v = bins.weights.to(ce.device)[idx[:, 0]]  # rebalancing weight of the nearest bin, eq. (2)
    return (v * ce).mean()


def train_step(net: torch.nn.Module, opt: torch.optim.Optimizer, rgb: torch.Tensor, bins: ColorBins | None,
               mconf: ModelConfig, rt: Runtime, scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """One optimization step on a batch of RGB images (B, 3, H, W): Lab, soft-encoding, forward, backward, Adam.

    With float16 (``scaler`` enabled) the loss is scaled before the backward pass: at 256 x 256 and
    batch 8 the loss is a mean over 32,768 output pixels, so a logit's gradient is around 1e-7,
    below float16's smallest normal number (6e-5). A step whose gradients overflow is skipped.
    """
    lightness, ab = _lab_batch(rgb.to(rt.device, non_blocking=True))
    with rt.autocast():
        output = net(rt.format(lightness))
    loss = compute_loss(output, ab, bins, mconf)
    opt.zero_grad(set_to_none=True)
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    return loss


def _lab_batch(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lab = rgb_to_lab(rgb)
    return lab[:, :1], lab[:, 1:]


def _prepare(config: TrainConfig, out: Path, rank: int) -> tuple[dict[str, list[Path]], ColorBins, dict]:
    """The split and the bins: computed once, saved in the run folder, reused on resume."""
    bins_path = out / "bins.pt"
    if bins_path.exists():
        saved = torch.load(bins_path, weights_only=True)
        root = Path(config.data)
        splits = {k: [root / p for p in v] for k, v in saved["split"].items()}
        return splits, ColorBins.from_state_dict(saved["bins"]), saved["stats"]
    root = Path(config.data)
    splits = split_files(root, config.seed, config.val_fraction, config.test_fraction)
    if not splits["train"]:
        raise DataError(f"{root}: the split left no training images")
    result = scan(splits["train"], config.prior_size, progress=rank == 0 and sys.stderr.isatty())
    if not result.usable:
        raise DataError(f"{root}: no usable color image among {len(splits['train'])} training files")
    val = scan(splits["val"], 32) if splits["val"] else None
    splits = {"train": result.usable, "val": val.usable if val else [], "test": splits["test"]}
    bins = learn_bins(result.histogram, config.grid, config.sigma, config.lam)
    stats = {
        "train_images": len(result.usable),
        "skipped_gray": len(result.gray),
        "skipped_unreadable": len(result.unreadable),
        "gray_files": [str(p) for p in result.gray],
        "q": bins.q,
    }
    if rank == 0:
        write_split(splits, root, out / "split.json")
        rel = {k: [p.relative_to(root).as_posix() for p in v] for k, v in splits.items()}
        torch.save({"bins": bins.state_dict(), "split": rel, "stats": stats}, bins_path)
    logger.info("%d training images, %d gray and %d unreadable skipped, Q = %d", stats["train_images"],
                stats["skipped_gray"], stats["skipped_unreadable"], bins.q)
    return splits, bins, stats


def _rng_state() -> dict:
    # Only tensors and plain Python values, so that checkpoints load with weights_only=True.
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])



@torch.no_grad()
def validate(model, files: list[Path], bins, mconf: ModelConfig, rt: Runtime, size: int, n: int, batch: int) -> float | None:
    if not files:
        return None
    model.eval()
    ds = ImageFolderDataset(files[:n], size)
    losses = []
    for i in range(0, len(ds), batch):
        rgb = torch.stack([ds[j] for j in range(i, min(i + batch, len(ds)))]).to(rt.device)
        lightness, ab = _lab_batch(rgb)
        with rt.autocast():
            out = model(rt.format(lightness))
        losses.append(float(compute_loss(out, ab, bins, mconf)) * len(rgb))
    model.train()
    return sum(losses) / min(n, len(files))


def train(config: TrainConfig, resume: bool = False, progress: bool | None = None) -> TrainResult:
    """Train a colorization network as configured; see the module docstring for the run folder."""
    from tqdm import tqdm

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    rt = pick_runtime(config.device, config.precision, local_rank=int(os.environ.get("LOCAL_RANK", 0)))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if rt.device.type == "cuda" else "gloo")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if last.exists() and not resume:
        raise DataError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    splits, bins, stats = _prepare(config, out, rank)
    if world > 1:
        torch.distributed.barrier()
    mconf = ModelConfig(q=bins.q, head="classification" if config.loss == "ce" else "regression", width=config.width)
    model = rt.format_model(ColorizationNet(mconf).to(rt.device))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2), weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.dtype == torch.float16)
    step, epoch, in_epoch, history, first_losses = 0, 0, 0, [], []
    if resume and last.exists():
        ckpt = checkpoint_format.read(last, rt.device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        step, epoch, in_epoch = ckpt["step"], ckpt["epoch"], ckpt["in_epoch"]
        _set_rng_state(ckpt["rng"])
        history = ckpt.get("history", [])
        first_losses = ckpt.get("first_losses", [])
        logger.info("resumed at step %d (epoch %d)", step, epoch)
    elif rank == 0:
        (out / "config.json").write_text(json.dumps(asdict(config), indent=2))
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    dataset = ImageFolderDataset(splits["train"], config.image_size)
    show = (sys.stderr.isatty() if progress is None else progress) and rank == 0
    metrics = (out / "metrics.jsonl").open("a") if rank == 0 else None
    steps_per_epoch = len(EpochSampler(len(dataset), config.seed, 0, rank=rank, world=world)) // config.batch_size
    if steps_per_epoch == 0:
        raise DataError(f"{len(dataset)} training images are fewer than one batch of {config.batch_size}")
    total = config.max_steps or steps_per_epoch * config.epochs
    images, started, loss_value = 0, time.perf_counter(), float("nan")
    bar = tqdm(total=total, initial=step, disable=not show, unit="step", desc="training")
    said = ProgressLog(total, step, first_losses, every_steps=config.report_every, enabled=not show and rank == 0)

    def checkpoint() -> None:
        if rank == 0:
            checkpoint_format.write(
                last, model=model.state_dict(), optimizer=opt.state_dict(), scaler=scaler.state_dict(), step=step, epoch=epoch,
                in_epoch=in_epoch, rng=_rng_state(), config=asdict(config), model_config=asdict(mconf),
                bins=bins.state_dict(), stats=stats, history=history, first_losses=said.first,
            )

    while step < total and epoch < config.epochs:
        sampler = EpochSampler(len(dataset), config.seed, epoch, in_epoch * config.batch_size, rank, world, config.flip)
        loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                            drop_last=True, pin_memory=rt.device.type == "cuda", persistent_workers=False)
        for rgb in loader:
            loss = train_step(net, opt, rgb, bins, mconf, rt, scaler)
            step, in_epoch, images = step + 1, in_epoch + 1, images + len(rgb)
            loss_value = float(loss.detach())
            rate = images * world / (time.perf_counter() - started)
            said.step(step, loss_value, rate, epoch)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}", img_s=f"{rate:.1f}")
            record = {"step": step, "epoch": epoch, "loss": loss_value, "images_per_s": rate}
            if config.val_every and step % config.val_every == 0:
                record["val_loss"] = validate(model, splits["val"], bins, mconf, rt, config.image_size, config.val_images, config.batch_size)
            if step % config.log_every == 0 or "val_loss" in record or step == 1:
                history.append(record)
                if metrics:
                    metrics.write(json.dumps(record) + "\n")
                    metrics.flush()
            if step % config.checkpoint_every == 0:
                checkpoint()
            if config.max_steps and step >= total:
                break
        else:
            epoch, in_epoch = epoch + 1, 0
            if not config.val_every and splits["val"]:
                val = validate(model, splits["val"], bins, mconf, rt, config.image_size, config.val_images, config.batch_size)
                history.append({"step": step, "epoch": epoch, "val_loss": val})
                if metrics:
                    metrics.write(json.dumps(history[-1]) + "\n")
    bar.close()
    checkpoint()
    if metrics:
        metrics.close()
    elapsed = time.perf_counter() - started
    return TrainResult(out, step, said.first_mean, said.last_mean, images * world / elapsed if elapsed > 0 else 0.0,
                       stats["skipped_gray"], stats["skipped_unreadable"], history)


@dataclass(frozen=True)
class Estimate:
    """How long a training run would take on this machine, from a few timed steps."""

    images_per_second: float
    images: int  # in the training split
    steps: int  # of the whole run
    seconds: float

    def describe(self) -> str:
        return (f"{self.images} training images, {self.steps} steps; {self.images_per_second:.2f} images/s measured "
                f"here: about {_duration(self.seconds)} per model")


def estimate(config: TrainConfig, timed_steps: int = 3) -> Estimate:
    """Time ``timed_steps`` real steps (after one warm-up) of ``config`` on its own photos, on this
    machine's device and precision, and scale them to the whole run (``epochs`` over the training split,
    or ``max_steps``)."""
    rt = pick_runtime(config.device, config.precision)
    splits = split_files(Path(config.data), config.seed, config.val_fraction, config.test_fraction)
    train_files = splits["train"]
    if len(train_files) < config.batch_size:
        raise DataError(f"{len(train_files)} training images are fewer than one batch of {config.batch_size}")
    sample = scan(train_files[:64], config.prior_size, progress=False)
    bins = learn_bins(sample.histogram)
    mconf = ModelConfig(q=bins.q, head="classification" if config.loss == "ce" else "regression", width=config.width)
    model = rt.format_model(ColorizationNet(mconf).to(rt.device))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    dataset = ImageFolderDataset(train_files, config.image_size)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=EpochSampler(len(dataset), config.seed, 0),
                        num_workers=config.workers, drop_last=True)
    batches = iter(loader)
    train_step(model, opt, next(batches), bins, mconf, rt)  # warm-up: allocations, kernels chosen
    started = time.perf_counter()
    done = 0
    for batch in itertools.islice(batches, timed_steps):
        train_step(model, opt, batch, bins, mconf, rt)
        done += len(batch)
    rate = done / (time.perf_counter() - started) if done else float("nan")
    steps = config.max_steps or len(train_files) // config.batch_size * config.epochs
    return Estimate(rate, len(train_files), steps, steps * config.batch_size / rate)
