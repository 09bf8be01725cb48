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

from .glmm import SDPrior, fit_glmm
from .signflip import sign_flip_test

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParticipantLevelResult:
    """Tests with the participant as the unit of analysis.

    Attributes
    ----------
    statistic : float
        Mean over participants of their share of votes for ``a``.
    pvalue : float
        Exact sign-flip (permutation) test of the per-participant shares against 0.5
        (:mod:`evaluation.signflip`): the test a sequential plan applies at its looks.
    sign_pvalue : float
        Exact sign test: participants preferring ``a`` against those preferring ``b`` (ties dropped).
    """

    statistic: float
    pvalue: float
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
    >>> round(res.statistic, 2), round(res.pvalue, 4), res.favour_a, res.favour_b, round(res.sign_pvalue, 4)
    (0.58, 0.0938, 5, 1, 0.2188)
    """
    votes_a, votes_b = table["votes_a"].to_numpy(), table["votes_b"].to_numpy()
    permutation = sign_flip_test(votes_a, votes_b, alternative)
    n = votes_a + votes_b
    shares = (votes_a / np.where(n > 0, n, 1))[n > 0]
    favour_a, favour_b = int((shares > 0.5).sum()), int((shares < 0.5).sum())
    sign_p = stats.binomtest(favour_a, favour_a + favour_b, 0.5, alternative=alternative).pvalue if favour_a + favour_b else 1.0
    return ParticipantLevelResult(permutation.statistic, permutation.pvalue, favour_a, favour_b, float(sign_p),
                                  permutation.n_participants)


@dataclass(frozen=True)
class MixedModelResult:
    """Mixed-effects logistic regression of choosing ``a``.

    Attributes
    ----------
    estimate : float
        The intercept: the log-odds of choosing ``a`` for a typical participant and image,
        with the side of ``a`` centred out.
    std_error : float
        Its standard error, from the fixed effects' covariance with the random effects
        integrated out (as lme4 reports).
    pvalue : float
        Two-sided Wald test of the intercept against Student's t with ``df`` degrees of freedom:
        the participants less one, or the images less one where there are fewer images (the
        intercept varies between the groups of either factor; with a handful of them the normal
        reference rejects far too often).
    proportion : float
        The typical share: the inverse logit of ``estimate``.
    """

    estimate: float
    std_error: float
    pvalue: float
    proportion: float
    sd_participant: float
    sd_image: float | None
    random_effects: tuple[str, ...]
    df: int


MIN_MIXED_VOTES = 10
# Weakly informative priors, as blme's bglmer takes them (why, with the alternatives measured:
# bench/README.md, bench/mixed_model.py). gamma(2, 0.5) on each random-intercept SD (logit scale;
# mode 2, 95% between 0.5 and 11) keeps an SD finite when an image's or a participant's votes all
# go one way, where maximum likelihood runs to infinity and its Wald test loses all power.
# normal(0, 2.5) on the fixed effects (Gelman et al. 2008's scale) does the same for the intercept
# when a few votes against the majority leave its likelihood flat.
SD_PRIOR = SDPrior(shape=2.0, rate=0.5)
FIXED_SD = 2.5


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


def fit_mixed_model(pair: pd.DataFrame) -> tuple[MixedModelResult | None, str | None]:
    """Logistic regression of choosing ``a`` with crossed random intercepts for participant and
    image, or None with the reason it could not be estimated.

    ``pair`` comes from :func:`evaluation.votes.pair_votes`. The side on which ``a`` was shown
    is a centred fixed effect, so a left-bias does not leak into the preference. Images are
    left out of the random effects when the table has none. Fitted by Laplace-approximated
    marginal likelihood (:mod:`evaluation.glmm`, as lme4's ``glmer``) with :data:`SD_PRIOR` on
    the standard deviations and a normal(0, :data:`FIXED_SD`) prior on the fixed effects (as
    blme's ``bglmer``).
    """
    reason = mixed_model_skipped(pair)
    if reason:
        return None, reason
    y = pair["chose_a"].to_numpy(dtype=float)
    a_left = pair["a_left"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(pair))] + ([a_left - a_left.mean()] if np.ptp(a_left) > 0 else []))
    names = tuple(c for c in ("participant", "image") if pair[c].nunique() > 1)
    codes = [pd.factorize(pair[c])[0] for c in names]
    fit = fit_glmm(y, x, codes, SD_PRIOR, FIXED_SD)
    if not fit.converged:
        logger.warning("the mixed model's optimizer did not report convergence")
    variance = float(fit.cov_beta[0, 0])
    if fit.at_bound:
        return None, "a random-effect standard deviation ran without limit"
    if not np.isfinite(variance) or variance <= 0:
        logger.warning("the mixed model gave no valid standard error (variance %s)", variance)
        return None, "its fit gave no valid standard error"
    estimate, se = float(fit.beta[0]), float(np.sqrt(variance))
    sds = dict(zip(names, fit.sd, strict=True))
    df = min(int(pair[name].nunique()) for name in names) - 1
    return MixedModelResult(
        estimate=estimate,
        std_error=se,
        pvalue=float(2 * stats.t.sf(abs(estimate / se), df)),
        proportion=float(1 / (1 + np.exp(-estimate))),
        sd_participant=float(sds["participant"]),
        sd_image=float(sds["image"]) if "image" in sds else None,
        random_effects=names,
        df=df,
    ), None


def mixed_model(pair: pd.DataFrame) -> MixedModelResult | None:
    """:func:`fit_mixed_model`'s result, None where it could not be estimated."""
    return fit_mixed_model(pair)[0]
