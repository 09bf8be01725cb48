"""End-to-end colorization throughput: colorcore against the reference release's straightforward path.

Both colorize the same LFW photos with the same (random, eccv16-shaped) weights, end to end:
decode the PNG bytes -> Lab -> network -> recombine with the original L -> encode PNG.

- reference: what Zhang et al.'s demo does per image: scikit-image rgb2lab on a 256x256 resize,
  fp32 NCHW network with batch 1, softmax and the 313 -> 2 projection, 4x bilinear upsample,
  resize to the original size, scikit-image lab2rgb;
- colorcore: `Colorizer.colorize` with batches of 8 (bfloat16 autocast + channels-last where the
  CPU supports it, torch color conversion);
- colorcore int8: the same with the network quantized (calibrated on 16 other LFW photos);
- onnxruntime fp32 and int8 (the same calibration), and engine auto's choice.

It prints images/s for 256x256 and 512x512 inputs and the largest and 99.9th-percentile |delta ab|
between the outputs. Random weights give nearly flat colors, so with ``--checkpoint`` it also
colorizes with a trained colorcore checkpoint in fp32, auto and int8 and prints how far the two
faster paths are from fp32: the accuracy figure that means something.

    .venv/bin/python bench/inference.py [--images 32] [--checkpoint runs/ce/last.pt]
    .venv/bin/python bench/inference.py --ceiling   # what this CPU's fp32, bf16 and int8 units allow
    .venv/bin/python bench/inference.py --only auto --sizes 512 --repeat 5   # one engine, steadier ratios
    .venv/bin/python bench/inference.py --default-vs-auto [--model fixtures/models/cross-entropy-w025.pt]
    .venv/bin/python bench/inference.py --graph-size   # the full-size network's ONNX graphs on disk

``--default-vs-auto`` times the ``colorize`` command as a whole process, as a researcher runs it,
on the 32 demo faces and on a large folder of LFW photos: the default (torch fp32, the reference),
bfloat16 asked for by name (the default before, where the CPU has bfloat16 units), and engine auto
on its first run (measuring, preparing, caching) and with its choice cached.

On a shared machine one measurement can be 15% off its neighbour. ``--repeat`` measures in that
many rounds (the release, then each engine's network alone and end to end) and prints the
medians and, for each ratio, the median and range of its values within a round.
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import color

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from colorcore.colorizer import network_lightness  # noqa: E402
from colorcore.factory import make_colorizer  # noqa: E402
from colorcore.infer import colorize_path  # noqa: E402
from colorcore.model import ColorizationNet, ModelConfig  # noqa: E402
from colorcore.zhang import convert_state_dict  # noqa: E402


def random_release_weights(path: Path) -> None:
    torch.manual_seed(0)
    state = {k: v for k, v in ColorizationNet(ModelConfig(q=313)).state_dict().items() if "num_batches" not in k}
    # centers on the ab grid, as in the release: columns of model_out are centers / 110
    grid = torch.stack(torch.meshgrid(torch.arange(-90, 100, 10.0), torch.arange(-110, 100, 10.0), indexing="ij"), -1)
    state["model_out.weight"] = (grid.reshape(-1, 2)[:313].T / 110).reshape(2, 313, 1, 1)
    torch.save(state, path)


def reference_colorize(png: bytes, net: ColorizationNet, proj: torch.Tensor) -> bytes:
    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    l_orig = color.rgb2lab(im)[:, :, :1]
    small = np.asarray(Image.fromarray(im).resize((256, 256), resample=3))
    l_rs = torch.from_numpy(color.rgb2lab(small)[:, :, 0]).float()[None, None]
    with torch.no_grad():
        probs = F.softmax(net(l_rs), dim=1)
        ab = F.interpolate(F.conv2d(probs, proj), scale_factor=4, mode="bilinear") * 110
        ab = F.interpolate(ab, size=im.shape[:2], mode="bilinear")
    lab = np.concatenate([l_orig, ab[0].permute(1, 2, 0).numpy()], axis=2)
    rgb = (np.clip(color.lab2rgb(lab), 0, 1) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def colorcore_colorize(pngs: list[bytes], colorizer, batch: int) -> list[bytes]:
    outputs = []
    for i in range(0, len(pngs), batch):
        images = [Image.open(io.BytesIO(b)).convert("RGB") for b in pngs[i : i + batch]]
        for im in colorizer.colorize(images):
            out = io.BytesIO()
            im.save(out, format="PNG", compress_level=1)
            outputs.append(out.getvalue())
    return outputs


def delta_ab(a: list[bytes], b: list[bytes]) -> np.ndarray:
    deltas = []
    for x, y in zip(a, b, strict=True):
        lx = color.rgb2lab(np.asarray(Image.open(io.BytesIO(x))))
        ly = color.rgb2lab(np.asarray(Image.open(io.BytesIO(y))))
        deltas.append(np.sqrt(((lx[..., 1:] - ly[..., 1:]) ** 2).sum(-1)).ravel())
    return np.concatenate(deltas)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/lfw-deepfunneled"))
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--checkpoint", help="a trained colorcore checkpoint for the accuracy of bf16 and int8")
    parser.add_argument("--ceiling", action="store_true", help="only the CPU's fp32 and int8 convolution throughput "
                        "and what it allows the network")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--only", choices=["auto"], help="measure engine auto's choice only (with the release)")
    parser.add_argument("--repeat", type=int, default=1, help="alternate network alone and end to end this many times")
    parser.add_argument("--default-vs-auto", action="store_true", help="the colorize command: default against auto")
    parser.add_argument("--model", default=str(ROOT / "fixtures" / "models" / "cross-entropy-w025.pt"))
    parser.add_argument("--large", type=int, default=512, help="photos in the large folder of --default-vs-auto")
    parser.add_argument("--graph-size", action="store_true", help="only the size of the full-size network's ONNX graphs")
    args = parser.parse_args()
    if args.ceiling:
        ceiling()
        return
    if args.graph_size:
        graph_size(Path(args.data))
        return
    if args.default_vs_auto:
        default_vs_auto(args.model, Path(args.data), args.large, args.repeat)
        return
    every = sorted(Path(args.data).rglob("*.jpg"))
    files = every[:: 97][: args.images]
    calibration = [Image.open(f).convert("RGB") for f in every[48::97][:16]]  # other photos than the measured ones
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "release.pth"
        random_release_weights(weights)
        state = torch.load(weights, weights_only=True)
        _, converted, _ = convert_state_dict(state)
        net = ColorizationNet(ModelConfig(q=313)).eval()
        net.load_state_dict(converted)
        proj = state["model_out.weight"]
        spec = f"zhang2016:{weights}"
        colorizer = make_colorizer(spec)
        fast = make_colorizer(spec, precision="bf16")
        int8 = make_colorizer(spec, precision="int8", photos=calibration)
        onnx = make_colorizer(spec, engine="onnxruntime")
        onnx8 = make_colorizer(spec, engine="onnxruntime", precision="int8", photos=calibration)
        held_out = [Image.open(f).convert("RGB") for f in every[24::97][:8]]
        auto = make_colorizer(spec, engine="auto", photos=calibration + held_out)  # measured now: the weights are new
        engines = {"colorcore fp32": colorizer, "colorcore bf16": fast, "colorcore int8": int8,
                   "onnxruntime fp32": onnx, "onnxruntime int8": onnx8, f"auto ({auto.engine} {auto.precision})": auto}
        if args.only == "auto":
            engines = {label: c for label, c in engines.items() if label.startswith("auto")}
        print(f"CPU: {describe()}")
        print(f"{torch.get_num_threads()} threads")
        print(f"engine auto: {auto.selection.describe()}")
        for size in args.sizes:
            run_size(size, files, engines, net, proj, args.batch, Path(tmp), args.repeat)
    if args.checkpoint:
        accuracy(args.checkpoint, files, calibration, args.batch)


def graph_size(data: Path) -> None:
    """The files engine auto keeps per temperature for the full-size network (eccv16-shaped, random
    weights), and those an ONNX Runtime colorizer writes to a temporary folder and removes."""
    from colorcore.engines import onnx_engine

    print(f"CPU: {describe()}")  # the sizes do not depend on it
    photos = [Image.open(f).convert("RGB") for f in sorted(data.rglob("*.jpg"))[48::97][:16]]
    with tempfile.TemporaryDirectory() as tmp:
        random_release_weights(Path(tmp) / "release.pth")
        colorizer = make_colorizer(f"zhang2016:{Path(tmp) / 'release.pth'}")
        lightness = network_lightness(photos, colorizer.size)
        for precision in ("fp32", "int8"):
            engine = onnx_engine(colorizer.network, colorizer.size, precision, Path(tmp), "graph", lightness)
            print(f"ONNX graph, {precision}: {engine.path.stat().st_size / 1e6:.0f} MB")
        params = sum(p.numel() for p in colorizer.network.model.parameters())
        print(f"network: {params / 1e6:.1f} M parameters, {4 * params / 1e6:.0f} MB in fp32")


def network_alone(colorizer, pngs: list[bytes], batch: int) -> float:
    """ms per image of the network with its decoding only (lightness in, ab out), batches of ``batch``."""
    lightness = network_lightness([Image.open(io.BytesIO(b)).convert("RGB") for b in pngs], colorizer.size)
    colorizer.ab_from_lightness(lightness[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(lightness), batch):
        colorizer.ab_from_lightness(lightness[i : i + batch])
    return (time.perf_counter() - start) / len(lightness) * 1e3


def end_to_end_files(colorizer, pngs: list[bytes], batch: int, folder: Path) -> float:
    """ms per image of ``colorize`` on files: read, decode, Lab, network, recombine, encode, write
    (decoding and encoding overlapped with the network, as the command does)."""
    source, target = folder / "in", folder / "out"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for i, b in enumerate(pngs):
        (source / f"{i:04d}.png").write_bytes(b)
    start = time.perf_counter()
    colorize_path(colorizer, source, target, batch_size=batch, progress=False)
    return (time.perf_counter() - start) / len(pngs) * 1e3


def run_size(size: int, files: list[Path], engines: dict, net, proj, batch: int, folder: Path, repeat: int = 1) -> None:
    pngs = []
    for f in files:
        buf = io.BytesIO()
        Image.open(f).convert("RGB").resize((size, size), Image.Resampling.BICUBIC).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    reference_colorize(pngs[0], net, proj)
    n_ref = max(4, len(pngs) // 4)

    def release() -> float:
        start = time.perf_counter()
        for p in pngs[:n_ref]:
            reference_colorize(p, net, proj)
        return (time.perf_counter() - start) / n_ref * 1e3

    ref = [reference_colorize(p, net, proj) for p in pngs[:n_ref]]
    for c in engines.values():
        colorcore_colorize(pngs[:batch], c, batch)  # warm-up
    # Each round measures the release, then every engine's network alone and end to end, so that
    # a slow minute of the shared machine falls on both sides of every ratio.
    rounds = []
    for _ in range(repeat):
        rounds.append((release(), {label: (network_alone(c, pngs, batch), end_to_end_files(c, pngs, batch, folder))
                                   for label, c in engines.items()}))
    t_ref = float(np.median([r for r, _ in rounds]))
    print(f"{size}x{size}: the release's path {t_ref:.0f} ms/img")
    alone = {}
    for label, c in engines.items():
        pairs = [(r, times[label]) for r, times in rounds]
        alone[label] = float(np.median([n for _, (n, _) in pairs]))
        t_ours = float(np.median([e for _, (_, e) in pairs]))
        d = delta_ab(ref, colorcore_colorize(pngs[:n_ref], c, batch))
        print(f"  {label}: network alone {alone[label]:.0f} ms/img; end to end {t_ours:.0f} ms/img "
              f"({t_ours / alone[label]:.2f}x the network alone), speed-up over the release {t_ref / t_ours:.2f}x; "
              f"|delta ab| vs the release max {d.max():.2f}, 99.9th percentile {np.percentile(d, 99.9):.2f}")
        if repeat > 1:
            over = sorted(e / n for _, (n, e) in pairs)
            speed = sorted(r / e for r, (_, e) in pairs)
            print(f"    {repeat} rounds: end to end over the network alone, median {np.median(over):.2f}x "
                  f"(range {over[0]:.2f}x to {over[-1]:.2f}x); speed-up over the release in the same round, "
                  f"median {np.median(speed):.2f}x (range {speed[0]:.2f}x to {speed[-1]:.2f}x)")
    fastest = min(alone, key=alone.get)
    print(f"  fastest network alone: {fastest}, {alone[fastest]:.0f} ms/img")


def accuracy(checkpoint: str, files: list[Path], calibration: list, batch: int) -> None:
    """|delta ab| of the fast paths against fp32, with trained weights, at 256x256."""
    pngs = []
    for f in files:
        buf = io.BytesIO()
        Image.open(f).convert("RGB").resize((256, 256), Image.Resampling.BICUBIC).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    fp32 = colorcore_colorize(pngs, make_colorizer(checkpoint), batch)
    for precision in ("bf16", "int8"):
        c = make_colorizer(checkpoint, precision=precision, photos=calibration)
        d = delta_ab(fp32, colorcore_colorize(pngs, c, batch))
        print(f"{checkpoint}, {c.precision} against fp32: |delta ab| max {d.max():.2f}, 99.9th percentile "
              f"{np.percentile(d, 99.9):.2f}, median {np.median(d):.3f}")


def _command(model: Path, photos: Path, out: Path, *extra: str) -> float:
    """Seconds of one ``python -m colorcore colorize`` process, start to exit."""
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colorcore", "colorize", "--model", str(model), "--input", str(photos),
                    "--output", str(out), *extra], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def default_vs_auto(model: str, data: Path, large: int, repeat: int) -> None:
    """The colorize command end to end: the default against engine auto, first run and cached."""
    print(f"CPU: {describe()}; {torch.get_num_threads()} threads; model {model}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy = tmp / Path(model).name  # a copy, so that auto's cache starts empty
        shutil.copy(model, copy)
        big = tmp / "large"
        big.mkdir()
        for path in sorted(data.rglob("*.jpg"))[::7][:large]:
            shutil.copy(path, big / path.name)
        folders = {"32 demo faces": ROOT / "fixtures" / "lfw-test-sample", f"{large} LFW photos": big}
        for label, folder in folders.items():
            rows = {"default (torch fp32)": [], "torch bf16 (the default before)": [], "auto, first run": [],
                    "auto, choice cached": []}
            for _ in range(max(repeat, 3)):
                for cached in (tmp / f"{copy.name}.engines.json", tmp / f"{copy.name}.engines"):
                    shutil.rmtree(cached, ignore_errors=True) if cached.is_dir() else cached.unlink(missing_ok=True)
                rows["auto, first run"].append(_command(copy, folder, tmp / "out", "--engine", "auto"))
                rows["auto, choice cached"].append(_command(copy, folder, tmp / "out", "--engine", "auto"))
                rows["default (torch fp32)"].append(_command(copy, folder, tmp / "out"))
                rows["torch bf16 (the default before)"].append(_command(copy, folder, tmp / "out", "--precision", "bf16"))
            default = float(np.median(rows["default (torch fp32)"]))
            print(f"{label}: whole process, median of {max(repeat, 3)} (min to max)")
            for name, times in rows.items():
                med = float(np.median(times))
                print(f"  {name:32s} {med:6.2f} s ({min(times):.2f} to {max(times):.2f}); {med / default:.2f}x the default")
        cache = json.loads((tmp / f"{copy.name}.engines.json").read_text())
        print("engine auto chose: " + "; ".join(f"{v['engine']} {v['precision']}" for v in cache.values()))


def network_macs(size: int = 256) -> int:
    """Multiply-adds of one forward pass of the eccv16 network at size x size."""
    net, total = ColorizationNet(ModelConfig(q=313)).eval(), 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.ConvTranspose2d):
            total += inputs[0].numel() * module.out_channels * module.kernel_size[0] * module.kernel_size[1]

    for m in net.modules():
        m.register_forward_hook(count)
    with torch.no_grad():
        net(torch.zeros(1, 1, size, size))
    return total


def ceiling() -> None:
    """How fast this CPU multiplies in fp32, bfloat16 and int8, on the network's commonest layer (a 3x3
    convolution, 512 -> 512 channels at 32 x 32, batch 8), and what that allows end to end: the
    release's path runs the network in fp32, so (int8 rate / fp32 rate) bounds any int8 speed-up."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    warnings.simplefilter("ignore")  # FX quantization's notes on its move to torchao
    torch.backends.quantized.engine = "x86"
    conv = torch.nn.Sequential(torch.nn.Conv2d(512, 512, 3, padding=1), torch.nn.ReLU()).eval()
    x = torch.relu(torch.randn(8, 512, 32, 32))
    prepared = prepare_fx(conv, get_default_qconfig_mapping("x86"), (x,))
    prepared(x)
    int8 = convert_fx(prepared)
    macs = 8 * 32 * 32 * 512 * 512 * 9
    rates = {}
    for label, m, inp in (("fp32", conv, x), ("bf16 (channels-last)", conv.to(memory_format=torch.channels_last), x),
                          ("int8", int8, x)):
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=label.startswith("bf16")):
            inp = inp.contiguous(memory_format=torch.channels_last) if label.startswith("bf16") else inp
            m(inp)
            start = time.perf_counter()
            for _ in range(5):
                m(inp)
            rates[label] = macs * 5 / (time.perf_counter() - start)
    net = network_macs()
    print(f"network: {net / 1e9:.1f} G multiply-adds per 256x256 image; {torch.get_num_threads()} threads")
    for label, rate in rates.items():
        print(f"  {label}: {rate / 1e9:.0f} G multiply-adds/s -> network at least {net / rate * 1e3:.0f} ms/img")
    print(f"  int8 / fp32: {rates['int8'] / rates['fp32']:.1f}x, the most int8 can gain over an fp32 network")


if __name__ == "__main__":
    main()
