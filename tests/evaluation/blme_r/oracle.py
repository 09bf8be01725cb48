"""blme's bglmer, run in R, as the oracle of the mixed model (used only when R with blme is installed).

The same model as ``evaluation.clustered.fit_mixed_model``: choosing ``a`` on a centred side
effect with random intercepts for participant and image, gamma(2, 0.5) priors on the standard
deviations (``posterior.scale = "sd"``) and normal(0, 2.5) on the fixed effects, Laplace
approximation (nAGQ = 1). The standard error is lme4's from the fixed effects' block at the
fitted variances (``vcov(use.hessian = FALSE)``) with the fixed-effect prior's precision added,
as the project computes it (the posterior's curvature at its mode).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

SCRIPT = r"""
suppressMessages(library(blme))
d <- read.csv(commandArgs(TRUE)[1], colClasses = c(participant = "factor", image = "factor"))
terms <- c("(1 | participant)", if (nlevels(d$image) > 1) "(1 | image)")
f <- as.formula(paste("chose_a ~ 1 + side +", paste(terms, collapse = " + ")))
m <- suppressWarnings(bglmer(f, d, family = binomial,
       cov.prior = gamma(shape = 2, rate = 0.5, posterior.scale = "sd"),
       fixef.prior = normal(sd = c(2.5, 2.5)), control = glmerControl(optimizer = "bobyqa")))
sds <- sapply(VarCorr(m), function(v) unname(attr(v, "stddev")))
# lme4's covariance at the fitted variances leaves the fixed effects' prior out; add its precision back
v <- solve(solve(as.matrix(vcov(m, use.hessian = FALSE))) + diag(1 / 2.5^2, length(fixef(m))))
cat(sprintf('{"estimate": %.10g, "std_error": %.10g, "sd_participant": %.10g, "sd_image": %s}\n',
    fixef(m)[1], sqrt(v[1, 1]), sds[["participant"]],
    if ("image" %in% names(sds)) sprintf("%.10g", sds[["image"]]) else "null"))
"""


def available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    done = subprocess.run(["Rscript", "-e", "library(blme)"], capture_output=True, text=True)
    return done.returncode == 0


def bglmer(pair: pd.DataFrame) -> dict:
    """blme's fit of one pair's votes: estimate, std_error, sd_participant, sd_image."""
    table = pair[["participant", "image", "chose_a"]].copy()
    table["side"] = pair["a_left"] - pair["a_left"].mean()
    with tempfile.TemporaryDirectory() as folder:
        csv, script = Path(folder) / "pair.csv", Path(folder) / "fit.R"
        table.to_csv(csv, index=False)
        script.write_text(SCRIPT)
        done = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"R failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
