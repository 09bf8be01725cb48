"""``python -m colorcore train|colorize|evaluate|fetch-weights|bins``: parse, call one function, print."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .errors import ColorcoreError
from .factory import ENGINE_CHOICES, INFERENCE_PRECISIONS
from .runtime import PRECISIONS


def _train(args: argparse.Namespace) -> int:
    from .train import SUMMARY_STEPS, TrainConfig, train

    config = TrainConfig(
        data=args.data, out=args.out, loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        image_size=args.image_size, width=args.width, device=args.device, precision=args.precision, seed=args.seed,
        max_steps=args.max_steps, flip=not args.no_flip, workers=args.workers, checkpoint_every=args.checkpoint_every,
        report_every=args.report_every,
    )
    logging.getLogger("colorcore.train").setLevel(logging.INFO)  # its progress lines, where no bar is drawn
    result = train(config, resume=args.resume)
    window = f"{SUMMARY_STEPS}_steps"
    print(json.dumps({"out": str(result.out), "steps": result.steps,  # noqa: T201
                      f"mean_loss_first_{window}": round(result.first_loss, 4),
                      f"mean_loss_last_{window}": round(result.last_loss, 4), "images_per_s": round(result.images_per_second, 2),
                      "skipped_gray": result.skipped_gray, "skipped_unreadable": result.skipped_unreadable}))
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from .train import TrainConfig, estimate

    config = TrainConfig(data=args.data, out="", loss=args.loss, epochs=args.epochs, batch_size=args.batch_size,
                         image_size=args.image_size, width=args.width, device=args.device, precision=args.precision,
                         max_steps=args.max_steps, workers=args.workers)
    found = estimate(config, args.steps)
    hours = found.seconds * args.models / 3600
    print(f"{found.describe()}; {args.models} model(s): about {hours:.1f} hours on this machine")  # noqa: T201
    if hours > args.limit_hours and not args.yes:
        raise ColorcoreError(f"this would take about {hours:.1f} hours here, more than {args.limit_hours:g}: "
                             "run it where there is a GPU or AMX, or say --yes (make reproduce YES=1)")
    return 0


def _colorize(args: argparse.Namespace) -> int:
    from .infer import colorize_path

    result = colorize_path(args.model, Path(args.input), Path(args.output), args.batch_size, args.precision, args.temperature,
                           engine=args.engine)
    print(f"{len(result.written)} images written to {args.output}, {len(result.skipped)} skipped; engine {result.engine}")  # noqa: T201
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .metrics import evaluate, to_json

    print(to_json(evaluate(args.model, Path(args.data), args.split, limit=args.limit, temperature=args.temperature,  # noqa: T201
                           precision=args.precision, seed=args.seed, engine=args.engine)))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .zhang import fetch_weights

    if args.name != "zhang2016":
        raise ColorcoreError(f"unknown weights {args.name!r}; available: zhang2016")
    print(fetch_weights(Path(args.dest) if args.dest else None))  # noqa: T201
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.format == "onnx":
        from .engines import export_onnx
        from .factory import make_colorizer

        colorizer = make_colorizer(args.model, "torch", "fp32", temperature=args.temperature, device="cpu")
        path = export_onnx(colorizer.network, colorizer.size, Path(args.output))
    else:
        from .checkpoint import export

        path = export(Path(args.model), Path(args.output))
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")  # noqa: T201
    return 0


def _montage(args: argparse.Namespace) -> int:
    from .montage import montage

    columns = {}
    for item in args.column:
        title, sep, folder = item.rpartition("=")
        if not sep:
            raise ColorcoreError(f"--column must look like TITLE=DIR, got {item!r}")
        columns[title] = Path(folder)
    print(montage(columns, Path(args.output), args.rows))  # noqa: T201
    return 0


def _bins(args: argparse.Namespace) -> int:
    from .color import gamut_bins

    print(f"{len(gamut_bins(args.grid))} in-gamut ab bins with grid {args.grid}")  # noqa: T201
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m colorcore", description="Colorful Image Colorization, trained and applied.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a network on a folder of images")
    t.add_argument("--data", required=True, help="image folder (LFW layout <Person>/<Person>_NNNN.jpg or any tree)")
    t.add_argument("--out", required=True, help="run folder (checkpoint, metrics.jsonl, split.json)")
    t.add_argument("--loss", choices=("ce", "l2"), default="ce")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--image-size", type=int, default=256)
    t.add_argument("--width", type=float, default=1.0)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument("--precision", choices=PRECISIONS, default="auto")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--no-flip", action="store_true")
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--checkpoint-every", type=int, default=200)
    t.add_argument("--report-every", type=int, default=100,
                   help="steps between progress lines when stderr is not a terminal (also once a minute)")
    t.set_defaults(func=_train)

    est = sub.add_parser("estimate", help="how long a training run would take here, from a few timed steps")
    est.add_argument("--data", required=True)
    est.add_argument("--loss", choices=("ce", "l2"), default="ce")
    est.add_argument("--epochs", type=int, default=2)
    est.add_argument("--batch-size", type=int, default=8)
    est.add_argument("--image-size", type=int, default=256)
    est.add_argument("--width", type=float, default=1.0)
    est.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    est.add_argument("--precision", choices=PRECISIONS, default="auto")
    est.add_argument("--max-steps", type=int)
    est.add_argument("--workers", type=int, default=2)
    est.add_argument("--steps", type=int, default=3, help="steps timed (after one warm-up)")
    est.add_argument("--models", type=int, default=1, help="models the run trains (make reproduce: 2)")
    est.add_argument("--limit-hours", type=float, default=1.0, help="longer than this needs --yes")
    est.add_argument("--yes", action="store_true", help="go on however long it takes")
    est.set_defaults(func=_estimate)

    c = sub.add_parser("colorize", help="colorize a file or folder; one PNG per input")
    c.add_argument("--model", required=True, help="checkpoint path, zhang2016 or zhang2016:PATH")
    c.add_argument("--input", required=True)
    c.add_argument("--output", required=True)
    c.add_argument("--temperature", type=float, help="annealed-mean T (default: 0.6 for checkpoints, the release's mean for zhang2016)")
    c.add_argument("--batch-size", type=int, default=8)
    c.add_argument("--precision", choices=INFERENCE_PRECISIONS, default="fp32",
                   help="fp32: the reference (default); bf16, fp16: faster where the hardware has them, colours not "
                        "checked (engine auto checks them); int8: quantized for the CPU, calibrated on the first 16 "
                        "input images")
    c.add_argument("--engine", choices=ENGINE_CHOICES, default="torch",
                   help="onnxruntime: the network and its decoding exported to ONNX, run in fp32; auto: the fastest "
                        "engine and precision within 2 ab units of fp32 on this CPU (measured once, cached with the model)")
    c.set_defaults(func=_colorize)

    e = sub.add_parser("evaluate", help="AuC, PSNR and colorfulness on a split, as JSON")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    e.add_argument("--limit", type=int)
    e.add_argument("--temperature", type=float)
    e.add_argument("--precision", choices=INFERENCE_PRECISIONS, default="fp32",
                   help="int8: quantized for the CPU, calibrated on 16 training-split images")
    e.add_argument("--engine", choices=ENGINE_CHOICES, default="torch",
                   help="as colorize's; auto measures on training-split photos")
    e.add_argument("--seed", type=int, default=0, help="seed of the split (as in training)")
    e.set_defaults(func=_evaluate)

    f = sub.add_parser("fetch-weights", help="download published weights (network needed)")
    f.add_argument("name", choices=("zhang2016",))
    f.add_argument("--dest")
    f.set_defaults(func=_fetch)

    x = sub.add_parser("export", help="keep only what colorizing needs (a small checkpoint), or an ONNX graph")
    x.add_argument("--model", required=True, help="checkpoint path, zhang2016 or zhang2016:PATH")
    x.add_argument("--output", required=True)
    x.add_argument("--format", choices=("checkpoint", "onnx"), default="checkpoint",
                   help="onnx: L (B, 1, S, S) -> ab (B, 2, S, S), the network with its decoding")
    x.add_argument("--temperature", type=float, help="annealed-mean T baked into the ONNX graph (default: the model's)")
    x.set_defaults(func=_export)

    m = sub.add_parser("montage", help="a comparison picture: one column per folder, one row per photo")
    m.add_argument("--column", action="append", required=True, metavar="TITLE=DIR")
    m.add_argument("--output", required=True)
    m.add_argument("--rows", type=int, default=6)
    m.set_defaults(func=_montage)

    b = sub.add_parser("bins", help="count the in-gamut ab bins")
    b.add_argument("--grid", type=int, default=10)
    b.set_defaults(func=_bins)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except (ColorcoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
