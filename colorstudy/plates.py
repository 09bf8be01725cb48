"""Pseudo-isochromatic plates, generated: a digit made of dots that differ from the background's
dots only along one dichromat's confusion line, under lightness noise.

The colour science is Machado, Oliveira & Fernandes (2009)'s simulation of dichromacy (protan,
deutan and tritan at severity 1), as colour-science 0.4.7 publishes it. Its three matrices are
held here as data, and the suite checks them against colour-science's
(``tests/colorstudy/test_plates.py``): a web worker that imports colour-science answers a
fraction slower for the rest of its life (bench/README.md), and the plates need nothing of it
but these numbers. colorspacious computes the same matrices; it has had no release since 2018.
The choice, and the plates' contrasts, are in docs/screening.md.

How a plate hides its figure from one type of dichromat:

* Colours. In linear sRGB a dichromat's simulation is a 3 x 3 matrix ``M``; its (near-)null
  vector ``n`` is the confusion direction. The background's dots are ``g - t n`` and the figure's
  ``g + t n`` around a grey ``g`` (nudged per plate, in a direction that keeps the luminance), so
  ``M`` maps both to the same colour: only the dichromat's confusion line separates them.
* Lightness. Every dot is scaled to a lightness drawn from one distribution for figure and
  background alike (stratified within each group), so CIELAB's L* of the dots says nothing of
  which group they belong to. The dichromat still sees a small lightness difference between the
  groups (a protanope sees red darker: ``Y n != 0``); the noise, many times larger, masks it
  (the tests bound both).

A demonstration plate, readable by everyone (its figure is darker), comes first: a participant
who misses it is not attending, which is told apart from a colour-vision deficiency.
Plates are seeded per participant, so no two participants see the same plates.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("demo", "protan", "deutan", "tritan")
DEFICIENCIES = ("protan", "deutan", "tritan")
_MACHADO = {"protan": "Protanomaly", "deutan": "Deuteranomaly", "tritan": "Tritanomaly"}
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])  # sRGB's (Rec. 709) luminance of linear R, G, B
DIGITS = (0, 2, 3, 4, 5, 6, 7, 8, 9)  # 1 is left out: two thin strokes of dots read poorly
NO_DIGIT = -1  # the answer "I see no number"
PLATE_PX = 360
L_RANGE = (42.0, 78.0)  # CIELAB lightness of the dots, uniform, for figure and background alike
STRENGTH = 0.18  # t: how far along the confusion line the two groups lie (linear sRGB, per |n| = 1)

# Seven-segment digits: a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle.
_SEGMENTS = {0: "abcdef", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg",
             9: "abcdfg"}


@dataclass(frozen=True)
class Plate:
    """One plate: its dots (centres and radii in pixels, linear sRGB colours) and which dots draw the figure."""

    kind: str
    digit: int
    centres: np.ndarray  # (N, 2) x, y
    radii: np.ndarray  # (N,)
    colours: np.ndarray  # (N, 3) linear sRGB in [0, 1]
    in_figure: np.ndarray  # (N,) bool
    size: int = PLATE_PX

    def png(self) -> bytes:
        """The plate as a PNG without metadata, through the stimuli's own encoding (colorstudy.stimuli)."""
        from .stimuli import encode

        return encode(render(self), (self.size, self.size)).data


# The demonstration plate first, then two plates of each deficiency in a per-participant order.
SEQUENCE = ("demo",) + DEFICIENCIES * 2


@dataclass(frozen=True)
class PlanEntry:
    kind: str
    digit: int
    seed: int


def plan(seed: int) -> list[PlanEntry]:
    """The plates one participant sees, from their seed: kinds in order, digits, each plate's own seed.
    No digit comes twice in a row."""
    rng = np.random.default_rng(seed)
    kinds = [SEQUENCE[0], *rng.permutation(SEQUENCE[1:])]
    entries, previous = [], None
    for kind in kinds:
        digit = int(rng.choice([d for d in DIGITS if d != previous]))
        entries.append(PlanEntry(str(kind), digit, int(rng.integers(2**62))))
        previous = digit
    return entries


@dataclass(frozen=True)
class Screening:
    """A participant's result: plates shown and answered right, the deficiencies suspected (both
    plates of that kind missed) and whether the demonstration plate, which everyone can read, was read."""

    shown: int
    right: int
    suspected: tuple[str, ...]
    attentive: bool

    @property
    def passed(self) -> bool:
        return self.attentive and not self.suspected

    @property
    def label(self) -> str:
        """'normal', the suspected deficiencies ('protan+deutan'), or 'demo missed'."""
        if not self.attentive:
            return "demo missed"
        return "+".join(self.suspected) or "normal"


def judge(answers: Iterable[tuple[str, int, int | None]]) -> Screening:
    """The result of (kind, digit shown, digit answered or :data:`NO_DIGIT` or None) for every plate.

    A deficiency is suspected when every plate of its kind was missed: one miss in two is what an
    inattentive click gives too, and the demonstration plate separates inattention from a deficiency.
    """
    answers = list(answers)
    missed = {kind: 0 for kind in KINDS}
    shown = {kind: 0 for kind in KINDS}
    for kind, digit, answer in answers:
        shown[kind] += 1
        missed[kind] += answer != digit
    suspected = tuple(k for k in DEFICIENCIES if shown[k] and missed[k] == shown[k])
    right = sum(shown.values()) - sum(missed.values())
    return Screening(len(answers), right, suspected, attentive=not missed["demo"])


# Machado et al. (2009) at severity 1.0 on linear sRGB: colour-science's CVD_MATRICES_MACHADO2010
# ("Protanomaly", "Deuteranomaly", "Tritanomaly"), to six decimals as published.
MACHADO_2009 = {
    "protan": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deutan": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritan": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def simulation(deficiency: str) -> np.ndarray:
    """Machado et al. (2009)'s matrix for a dichromat (severity 1) on linear sRGB."""
    if deficiency not in DEFICIENCIES:
        raise ValueError(f"deficiency must be one of {', '.join(DEFICIENCIES)}, got {deficiency!r}")
    return np.array(MACHADO_2009[deficiency])


@functools.cache
def confusion_direction(deficiency: str) -> np.ndarray:
    """The unit direction in linear sRGB that the dichromat's simulation maps closest to zero."""
    direction = np.linalg.svd(simulation(deficiency))[2][-1]
    return direction / np.linalg.norm(direction)


def lightness_to_luminance(lightness: np.ndarray) -> np.ndarray:
    """CIELAB L* -> relative luminance Y in [0, 1]."""
    f = (np.asarray(lightness, dtype=float) + 16.0) / 116.0
    return np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29))


def encode_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB in [0, 1] -> the sRGB transfer curve's values in [0, 1] (IEC 61966-2-1)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def make_plate(kind: str, digit: int, seed: int, size: int = PLATE_PX) -> Plate:
    """A plate of ``kind`` (see :data:`KINDS`) showing ``digit``, its dots and colours drawn from ``seed``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if digit not in _SEGMENTS:
        raise ValueError(f"digit must be one of {', '.join(map(str, DIGITS))}, got {digit!r}")
    rng = np.random.default_rng(seed)
    centres, radii = _pack_dots(rng, size)
    mask = _digit_mask(digit, size, slant=rng.uniform(-0.08, 0.08))
    xs, ys = np.clip(centres.astype(int), 0, size - 1).T
    in_figure = mask[ys, xs]
    lightness = np.empty(len(radii))
    for group in (in_figure, ~in_figure):
        # Stratified: each group's lightness covers the range evenly, so the two distributions are
        # the same (not merely alike in expectation) and their means do not differ by chance.
        k = int(group.sum())
        lightness[group] = L_RANGE[0] + (L_RANGE[1] - L_RANGE[0]) * (rng.permutation(k) + rng.uniform(size=k)) / k
    colours = _colours(kind, rng, in_figure, lightness_to_luminance(lightness))
    return Plate(kind, digit, centres, radii, colours, in_figure, size)


def _colours(kind: str, rng: np.random.Generator, in_figure: np.ndarray, luminance: np.ndarray) -> np.ndarray:
    """Each dot's linear sRGB colour: its group's chromaticity at its own luminance."""
    if kind == "demo":
        # Readable by everyone: the same hue for both groups, the figure darker.
        hue = np.array([0.55, 0.45, 0.30])
        scale = np.where(in_figure, 0.45, 1.0) * luminance / (LUMINANCE @ hue)
        return np.clip(scale[:, None] * hue, 0.0, 1.0)
    n = confusion_direction(kind) * rng.choice([-1.0, 1.0])  # which group is the redder one varies
    # A per-plate nudge of the grey, along a direction the luminance does not see, so that plates differ.
    nudge = np.cross(LUMINANCE, rng.normal(size=3))
    grey = np.full(3, 0.5) + 0.04 * nudge / np.linalg.norm(nudge)
    groups = np.where(in_figure[:, None], grey + STRENGTH * n, grey - STRENGTH * n)  # (N, 3)
    groups = np.clip(groups, 0.02, None)
    colours = groups * (luminance / (groups @ LUMINANCE))[:, None]
    # Out of gamut: bring the dot's luminance down (never its chromaticity) until it fits.
    return colours / np.maximum(colours.max(axis=1, keepdims=True), 1.0)


def _pack_dots(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping dots of three sizes filling a disc, largest first."""
    radius = size * 0.48
    tries = ((size * 0.024, 900), (size * 0.016, 1600), (size * 0.010, 2400))
    centres = np.empty((sum(n for _, n in tries), 2))
    radii = np.empty(len(centres))
    count = 0
    for r, n in tries:
        angle = rng.uniform(0, 2 * np.pi, n)
        dist = (radius - r) * np.sqrt(rng.uniform(0, 1, n))
        for point in size / 2 + np.c_[dist * np.cos(angle), dist * np.sin(angle)]:
            gaps = np.hypot(*(centres[:count] - point).T) - radii[:count] - r
            if count and gaps.min() < size * 0.004:
                continue
            centres[count], radii[count] = point, r * rng.uniform(0.85, 1.0)
            count += 1
    return centres[:count].copy(), radii[:count].copy()


def _digit_mask(digit: int, size: int, slant: float) -> np.ndarray:
    """The digit's seven-segment strokes as a boolean (size, size) mask, slightly slanted."""
    w, h, t = size * 0.44, size * 0.66, size * 0.15
    x0, y0 = (size - w) / 2, (size - h) / 2
    boxes = {
        "a": (x0, y0, x0 + w, y0 + t), "d": (x0, y0 + h - t, x0 + w, y0 + h),
        "g": (x0, y0 + (h - t) / 2, x0 + w, y0 + (h + t) / 2),
        "f": (x0, y0, x0 + t, y0 + h / 2), "e": (x0, y0 + h / 2, x0 + t, y0 + h),
        "b": (x0 + w - t, y0, x0 + w, y0 + h / 2), "c": (x0 + w - t, y0 + h / 2, x0 + w, y0 + h),
    }
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for segment in _SEGMENTS[digit]:
        draw.rectangle(boxes[segment], fill=255)
    canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, slant, -slant * size / 2, 0, 1, 0))
    return np.asarray(canvas) > 127


def render(plate: Plate) -> Image.Image:
    """The plate as an 8-bit sRGB image: its dots on a light neutral ground, anti-aliased by 3x supersampling."""
    scale = 3
    canvas = Image.new("RGB", (plate.size * scale, plate.size * scale), (236, 236, 236))
    draw = ImageDraw.Draw(canvas)
    encoded = np.round(255 * encode_srgb(plate.colours)).astype(int)
    for (x, y), r, rgb in zip(plate.centres * scale, plate.radii * scale, encoded, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rgb))
    return canvas.resize((plate.size, plate.size), Image.Resampling.LANCZOS)
