"""``python -m evaluation report VOTES.csv``, ``python -m evaluation scale VOTES.csv --plot jod.png``,
``python -m evaluation review VOTES.csv`` and ``python -m evaluation plan --effect 0.58``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import csvsafe
from .charts import save_jod_chart
from .jod import PRIORS, jod_scale
from .matrices import comparison_counts
from .options import ALTERNATIVES, add_report_arguments, options_from_arguments
from .power import plan_study
from .quality import participant_review
from .render import render
from .report import build_report
from .sequential import PRIMARY, SPENDING, design
from .votes import VoteTableError, load_votes


def _read_plan(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a sequential plan is a JSON object with participants, looks and boundaries")
    sequential = data.get("sequential")
    if isinstance(sequential, dict) and "plan" in sequential:  # a report's json: its plan
        return sequential["plan"]
    return data


def write_output(content: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(content)
    else:
        sys.stdout.write(content)


def _report(args: argparse.Namespace) -> None:
    plan = _read_plan(args.plan) if args.plan else None
    report = build_report(args.votes, options_from_arguments(vars(args), max_fail_rate=0.5, sequential=plan),
                          study=args.votes)
    write_output(render(report, args.format), args.output)


def _scale(args: argparse.Namespace) -> None:
    result = jod_scale(comparison_counts(load_votes(args.votes)), args.jod_prior, args.reference, args.bootstrap)
    table = result.table()
    content = csvsafe.to_csv(table) if args.format == "csv" else (
        table.to_string(index=False, float_format=lambda v: f"{v:+.3f}") + "\n"
        + "".join(f"note: {n}\n" for n in result.notes))
    write_output(content, args.output)
    if args.plot:
        save_jod_chart(result, args.plot, title=Path(args.votes).name)


def _review(args: argparse.Namespace) -> None:
    table = participant_review(args.votes, args.max_fail_rate, args.alpha)
    write_output(csvsafe.to_csv(table) if args.format == "csv" else table.to_string(index=False) + "\n",
                 args.output)


def _plan(args: argparse.Namespace) -> None:
    if args.looks:
        seq = design(args.effect, args.looks, args.alpha, args.power, args.spending, args.rho,
                     args.votes_per_participant, args.icc, args.futility, args.primary)
        text = json.dumps({"boundaries": list(seq.efficacy), **seq.to_dict()}, indent=2) if args.format == "json" \
            else seq.describe()
        sys.stdout.write(text + "\n")
        return
    p = plan_study(args.effect, args.alpha, args.power, args.alternative, args.votes_per_participant, args.icc)
    lines = [f"To detect a share of {p.effect:.0%} against 50% (exact binomial, {args.alternative}, alpha {p.alpha}, "
             f"power {p.power}): {p.votes_independent} independent votes (achieved power {p.achieved_power:.3f})."]
    if p.votes_per_participant:
        lines.append(f"With {p.votes_per_participant} votes per participant and ICC {args.icc}: design effect "
                     f"{p.design_effect:.2f}, {p.votes} votes, {p.participants} participants.")
    sys.stdout.write("\n".join(lines) + "\n")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="analyze a vote table (the CSV of export_votes)")
    rep.add_argument("votes", help="CSV file, one row per vote")
    rep.add_argument("--plan", help="the study's sequential plan (JSON, as `plan --format json` writes it): its "
                                    "decision with the stage-wise p-value and interval")
    add_report_arguments(rep)
    rep.set_defaults(func=_report)
    scale = sub.add_parser("scale", help="the JOD scale alone, as pwcmp gives it, with a plot")
    scale.add_argument("votes", help="CSV file: the project's vote table or pwcmp's long format")
    scale.add_argument("--reference", help="system fixed at 0 (default: mean 0)")
    scale.add_argument("--jod-prior", choices=PRIORS, default="gaussian")
    scale.add_argument("--bootstrap", type=int, default=500, help="participant-bootstrap resamples (default 500)")
    scale.add_argument("--plot", help="write the scale with its intervals to this PNG file")
    scale.add_argument("--format", choices=("text", "csv"), default="text")
    scale.add_argument("--output", help="file to write (default: standard output)")
    scale.set_defaults(func=_scale)
    review = sub.add_parser("review", help="each participant's checks: catch trials, one-sided clicking, speed")
    review.add_argument("votes", help="CSV file, one row per vote")
    review.add_argument("--format", choices=("text", "csv"), default="text")
    review.add_argument("--output", help="file to write (default: standard output)")
    review.add_argument("--alpha", type=float, default=0.05)
    review.add_argument("--max-fail-rate", type=float, default=0.5, help="catch-trial rule (default 0.5)")
    review.set_defaults(func=_review)
    plan = sub.add_parser("plan", help="votes and participants needed to detect a preference")
    plan.add_argument("--effect", type=float, required=True, help="true share preferring one system, e.g. 0.58")
    plan.add_argument("--alpha", type=float, default=0.05)
    plan.add_argument("--power", type=float, default=0.8)
    plan.add_argument("--alternative", choices=ALTERNATIVES, default="two-sided")
    plan.add_argument("--votes-per-participant", type=int)
    plan.add_argument("--icc", type=float, default=0.0, help="intra-participant correlation of choices")
    plan.add_argument("--looks", type=int, help="a group-sequential design with this many equally spaced looks")
    plan.add_argument("--spending", choices=SPENDING, default="obf",
                      help="alpha spending: obf (O'Brien-Fleming-like), pocock (Pocock-like), power (alpha t^rho)")
    plan.add_argument("--rho", type=float, default=1.0, help="the power family's exponent (--spending power)")
    plan.add_argument("--futility", action="store_true", help="add non-binding futility bounds (beta spending)")
    plan.add_argument("--primary", choices=PRIMARY, default="participant", help="the analysis at each look")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(func=_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (VoteTableError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
