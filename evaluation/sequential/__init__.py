"""Group-sequential designs: stop a study early when the answer is in, with valid error rates.

A plan fixes, before the first vote, the maximum number of participants, the looks (after how
many completed participants the data are analysed), and how the type I error is spent over the
looks: Lan & DeMets' (1983) spending functions, O'Brien-Fleming-like (the default), Pocock-like,
or the power family ``alpha * t**rho``. The boundaries follow from the exact joint distribution of
the z statistics at the looks (Brownian motion in the information fraction ``t``), computed by
recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
chapter 19) on a fine grid.

Convention: the test is two-sided with symmetric bounds, and the spending function is applied
to each side with ``alpha / 2``, as ldbounds' ``ldBounds(..., alpha=0.05, sides=2)`` and
gsDesign do. So the O'Brien-Fleming-like function is ``2 - 2 * Phi(z(1 - alpha/4) / sqrt(t))``
per side. (The other convention spends ``2 - 2 * Phi(z(1 - alpha/2) / sqrt(t))`` in total.)

Futility bounds are optional and non-binding. The efficacy bounds ignore them, so the type I error
stays at most ``alpha`` whether or not a study stops for futility. They come from beta spending
with the same family under the planned effect, and the last one equals the last efficacy bound.

After a stop, the p-value, the median-unbiased estimate and the confidence interval use the
stage-wise ordering (Armitage 1957; Fairbanks & Madsen 1982; Tsiatis, Rosner & Mehta 1984). A
stop at an earlier look is more extreme than any later one, so inference accounts for the
stopping.

Examples
--------
>>> b = efficacy_bounds([0.2, 0.4, 0.6, 0.8, 1.0])
>>> [round(z, 3) for z in b]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""
from __future__ import annotations

from .bounds import SPENDING, Crossing, crossing, drift_for_power, efficacy_bounds, futility_bounds, spent
from .looks import LookResult, analyse_look, completed_order, look_statistic, participant_z, replay, t_as_z
from .plans import ANALYSES, PRIMARY, SequentialPlan, design, expected_participants, fixed_plan
from .simulation import CHUNK, LOOK_TESTS, Simulation, population_mean, simulate, simulated_z

__all__ = [
    "ANALYSES", "CHUNK", "LOOK_TESTS", "PRIMARY", "SPENDING", "Crossing", "LookResult", "SequentialPlan", "Simulation",
    "analyse_look", "completed_order", "crossing", "design", "drift_for_power", "efficacy_bounds",
    "expected_participants", "fixed_plan", "futility_bounds", "look_statistic", "participant_z", "population_mean",
    "replay", "simulate", "simulated_z", "spent", "t_as_z",
]
