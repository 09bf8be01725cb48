"""The colour-vision plates as people see them, measured on the served PNG (docs/screening.md).

For each kind, over many plates: the contrast of the figure with its background (CIEDE2000 of the
group means) for normal vision at equal lightness, under the plate's dichromat simulated by three
models, and under another dichromat (a wrong plate must show its figure); the plates' own
dot-to-dot variation; how well lightness alone sorts figure from background (ROC AUC); and the
time to make and encode a participant's seven plates.

    .venv/bin/python bench/plates.py [--plates 20]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import colour
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from colorstudy import plates  # noqa: E402
from harness.plates import as_dichromat, contrast, dot_colours, equal_lightness, lab, lightness_auc  # noqa: E402

OTHER = {"protan": "tritan", "deutan": "tritan", "tritan": "protan"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=20, help="plates of each kind")
    args = parser.parse_args()
    print(describe())
    print("kind    normal        brettel  vienot  machado  other dichromat  dot-to-dot  L* AUC")
    for kind in plates.DEFICIENCIES:
        made = [plates.make_plate(kind, 3, seed) for seed in range(args.plates)]
        shown = [dot_colours(p) for p in made]
        normal = [contrast(equal_lightness(c), p.in_figure) for c, p in zip(shown, made, strict=True)]
        hidden = {m: max(contrast(as_dichromat(c, kind, m), p.in_figure) for c, p in zip(shown, made, strict=True))
                  for m in ("brettel", "vienot", "machado")}
        other = min(contrast(as_dichromat(c, OTHER[kind], "brettel"), p.in_figure) for c, p in zip(shown, made, strict=True))
        background = lab(shown[0][~made[0].in_figure])
        pairs = np.random.default_rng(0).integers(len(background), size=(2000, 2))
        spread = np.median(colour.delta_E(background[pairs[:, 0]], background[pairs[:, 1]], method="CIE 2000"))
        auc = np.mean([lightness_auc(p) for p in made])
        print(f"{kind:7} {min(normal):5.1f}-{max(normal):5.1f}   <={hidden['brettel']:5.2f}  <={hidden['vienot']:5.2f}  "
              f"<={hidden['machado']:5.2f}   >={other:5.1f}           {spread:5.1f}       {auc:.3f}")
    plates.make_plate("demo", 8, 0).png()
    start = time.perf_counter()
    for entry in plates.plan(3):
        plates.make_plate(entry.kind, entry.digit, entry.seed).png()
    print(f"a participant's {len(plates.SEQUENCE)} plates, made and encoded: {time.perf_counter() - start:.2f} s")
    print(f"demonstration plate's L* AUC: {lightness_auc(plates.make_plate('demo', 6, 1)):.3f}")


if __name__ == "__main__":
    main()
