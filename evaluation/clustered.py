"""Analyses that respect the clustering of votes within participants and images.

Fifty votes from one person are not fifty independent observations: a participant with a
taste for saturated colors votes the same way again and again. The pooled binomial test treats
every vote as independent and so overstates the evidence; these tests do not.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .glmm import fit_glmm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParticipantLevelResult:
    """Tests with the participant as the unit of analysis.

    Attributes
    ----------
    statistic : float
        Mean over participants of their share of votes for ``a``.
    t_pvalue : float
        One-sample t-test of the per-participant shares against 0.5.
    sign_pvalue : float
        Exact sign test: participants preferring ``a`` against those preferring ``b`` (ties dropped).
    """

    statistic: float
    t_statistic: float
    t_pvalue: float
    favour_a: int
    favour_b: int
    sign_pvalue: float
    n_participants: int


def participant_level_test(table: pd.DataFrame, alternative: str = "two-sided") -> ParticipantLevelResult:
    """Participant-level tests on a table with ``votes_a`` and ``votes_b`` per participant.

    Examples
    --------
    >>> import pandas as pd
    >>> seed = pd.DataFrame({"votes_a": [27, 23, 29, 31, 33, 31], "votes_b": [23, 27, 21, 19, 17, 19]})
    >>> res = participant_level_test(seed)
    >>> round(res.statistic, 2), res.favour_a, res.favour_b, round(res.sign_pvalue, 4)
    (0.58, 5, 1, 0.2188)
    """
    n = table["votes_a"] + table["votes_b"]
    shares = (table["votes_a"] / n)[n > 0].to_numpy(dtype=float)
    favour_a, favour_b = int((shares > 0.5).sum()), int((shares < 0.5).sum())
    if len(shares) >= 2 and np.ptp(shares) > 0:
        t = stats.ttest_1samp(shares, 0.5, alternative=alternative)
        t_stat, t_p = float(t.statistic), float(t.pvalue)
    else:  # one participant, or all identical shares: no variance to test with
        t_stat, t_p = float("nan"), float("nan")
    sign_p = stats.binomtest(favour_a, favour_a + favour_b, 0.5, alternative=alternative).pvalue if favour_a + favour_b else 1.0
    return ParticipantLevelResult(float(shares.mean()) if len(shares) else float("nan"), t_stat, t_p, favour_a, favour_b, float(sign_p), len(shares))


@dataclass(frozen=True)
class MixedModelResult:
    """Mixed-effects logistic regression of choosing ``a``.

    Attributes
    ----------
    estimate : float
        The intercept: the log-odds of choosing ``a`` for a typical participant and image,
        with the side of ``a`` centred out.
    pvalue : float
        Two-sided Wald z test of the intercept, its standard error from the fixed effects'
        covariance with the random effects integrated out (as lme4 reports).
    """

    estimate: float
    std_error: float
    pvalue: float
    proportion: float
    sd_participant: float
    sd_image: float | None
    random_effects: tuple[str, ...]


MIN_MIXED_VOTES = 10


def mixed_model_skipped(pair: pd.DataFrame) -> str | None:
    """Why the mixed model cannot be fitted to these votes, or None when it can.

    Examples
    --------
    >>> mixed_model_skipped(pd.DataFrame({"participant": ["p1"] * 12, "chose_a": [1, 0] * 6}))
    'one participant: no participant variance to estimate'
    """
    if len(pair) < MIN_MIXED_VOTES:
        return f"{len(pair)} votes, fewer than the {MIN_MIXED_VOTES} it needs"
    if pair["participant"].nunique() < 2:
        return "one participant: no participant variance to estimate"
    if pair["chose_a"].nunique() < 2:
        return "the votes are unanimous: no finite log-odds to estimate"
    return None


def mixed_model(pair: pd.DataFrame) -> MixedModelResult | None:
    """Logistic regression of choosing ``a`` with crossed random intercepts for participant and image.

    ``pair`` comes from :func:`evaluation.votes.pair_votes`. The side on which ``a`` was shown
    is a centred fixed effect, so a left-bias does not leak into the preference. Images are
    left out of the random effects when the table has none. Fitted by Laplace-approximated
    maximum likelihood (:mod:`evaluation.glmm`, as lme4's ``glmer``).
    Returns None when :func:`mixed_model_skipped` gives a reason not to fit, or when the fit gives
    no valid standard error.
    """
    if mixed_model_skipped(pair):
        return None
    y = pair["chose_a"].to_numpy(dtype=float)
    a_left = pair["a_left"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(pair))] + ([a_left - a_left.mean()] if np.ptp(a_left) > 0 else []))
    names = tuple(c for c in ("participant", "image") if pair[c].nunique() > 1)
    codes = [pd.factorize(pair[c])[0] for c in names]
    fit = fit_glmm(y, x, codes)
    if not fit.converged:
        logger.warning("the mixed model's optimizer did not report convergence")
    variance = float(fit.cov_beta[0, 0])
    if not np.isfinite(variance) or variance <= 0:
        logger.warning("the mixed model gave no valid standard error (variance %s)", variance)
        return None
    estimate, se = float(fit.beta[0]), float(np.sqrt(variance))
    sds = dict(zip(names, fit.sd, strict=True))
    return MixedModelResult(
        estimate=estimate,
        std_error=se,
        pvalue=float(2 * stats.norm.sf(abs(estimate / se))),
        proportion=float(1 / (1 + np.exp(-estimate))),
        sd_participant=float(sds["participant"]),
        sd_image=float(sds["image"]) if "image" in sds else None,
        random_effects=names,
    )
