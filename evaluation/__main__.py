"""``python -m evaluation report VOTES.csv``, ``python -m evaluation scale VOTES.csv --plot jod.png``,
``python -m evaluation review VOTES.csv`` and ``python -m evaluation plan --effect 0.58``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .jod import PRIORS, jod_scale
from .matrices import comparison_counts
from .power import plan_study
from .quality import participant_review
from .render import FORMATS, render, save_jod_chart
from .report import build_report
from .sequential import PRIMARY, SPENDING, design
from .votes import VoteTableError, load_votes


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``manage.py report``."""
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--alternative", choices=("two-sided", "greater", "less"), default="two-sided")
    parser.add_argument("--include-excluded", action="store_true", help="keep participants who failed catch trials")
    parser.add_argument(
        "--max-fail-rate", type=float, default=None, help="catch-trial exclusion threshold (default: the study's, or 0.5)"
    )
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed-effects model (fast)")
    parser.add_argument("--min-viewport", type=int, help="leave out participants whose window was narrower (px)")
    parser.add_argument("--exclude-one-sided", action="store_true",
                        help="leave out participants who chose one side beyond chance (Holm-adjusted, at --alpha)")
    parser.add_argument("--exclude-outliers", action="store_true",
                        help="leave out participants whom pwcmp's outlier analysis puts above 1.5")
    parser.add_argument("--systems", nargs="*", default=None, help="order of systems: the first is system_a")
    parser.add_argument("--reference", help="system whose JOD score and Bradley-Terry strength are fixed at 0")
    parser.add_argument("--jod-prior", choices=PRIORS, default="gaussian", help="pwcmp's distance prior (default gaussian)")
    parser.add_argument("--by-image", action="store_true", help="also scale JOD separately for each image")
    parser.add_argument("--bootstrap", type=int, default=500, help="participant-bootstrap resamples (default 500; 0: none)")


def report_arguments(options: dict) -> dict:
    """The keyword arguments of build_report from the parsed options shared with manage.py report."""
    return {
        "alpha": options["alpha"],
        "alternative": options["alternative"],
        "include_excluded": options["include_excluded"],
        "mixed": not options["no_mixed"],
        "min_viewport": options["min_viewport"],
        "exclude_one_sided": options["exclude_one_sided"],
        "exclude_outliers": options["exclude_outliers"],
        "reference": options["reference"],
        "jod_prior": options["jod_prior"],
        "by_image": options["by_image"],
        "n_boot": options["bootstrap"],
    }


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="analyze a vote table (the CSV of export_votes)")
    rep.add_argument("votes", help="CSV file, one row per vote")
    rep.add_argument("--plan", help="the study's sequential plan (JSON, as `plan --format json` writes it): its "
                                    "decision with the stage-wise p-value and interval")
    add_report_options(rep)
    scale = sub.add_parser("scale", help="the JOD scale alone, as pwcmp gives it, with a plot")
    scale.add_argument("votes", help="CSV file: the project's vote table or pwcmp's long format")
    scale.add_argument("--reference", help="system fixed at 0 (default: mean 0)")
    scale.add_argument("--jod-prior", choices=PRIORS, default="gaussian")
    scale.add_argument("--bootstrap", type=int, default=500, help="participant-bootstrap resamples (default 500)")
    scale.add_argument("--plot", help="write the scale with its intervals to this PNG file")
    scale.add_argument("--format", choices=("text", "csv"), default="text")
    scale.add_argument("--output", help="file to write (default: standard output)")
    review = sub.add_parser("review", help="each participant's checks: catch trials, one-sided clicking, speed")
    review.add_argument("votes", help="CSV file, one row per vote")
    review.add_argument("--format", choices=("text", "csv"), default="text")
    review.add_argument("--output", help="file to write (default: standard output)")
    review.add_argument("--alpha", type=float, default=0.05)
    review.add_argument("--max-fail-rate", type=float, default=0.5, help="catch-trial rule (default 0.5)")
    plan = sub.add_parser("plan", help="votes and participants needed to detect a preference")
    plan.add_argument("--effect", type=float, required=True, help="true share preferring one system, e.g. 0.58")
    plan.add_argument("--alpha", type=float, default=0.05)
    plan.add_argument("--power", type=float, default=0.8)
    plan.add_argument("--alternative", choices=("two-sided", "greater", "less"), default="two-sided")
    plan.add_argument("--votes-per-participant", type=int)
    plan.add_argument("--icc", type=float, default=0.0, help="intra-participant correlation of choices")
    plan.add_argument("--looks", type=int, help="a group-sequential design with this many equally spaced looks")
    plan.add_argument("--spending", choices=SPENDING, default="obf",
                      help="alpha spending: obf (O'Brien-Fleming-like), pocock (Pocock-like), power (alpha t^rho)")
    plan.add_argument("--rho", type=float, default=1.0, help="the power family's exponent (--spending power)")
    plan.add_argument("--futility", action="store_true", help="add non-binding futility bounds (beta spending)")
    plan.add_argument("--primary", choices=PRIMARY, default="participant", help="the analysis at each look")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    try:
        if args.command == "plan" and args.looks:
            seq = design(args.effect, args.looks, args.alpha, args.power, args.spending, args.rho,
                         args.votes_per_participant, args.icc, args.futility, args.primary)
            if args.format == "json":
                data = {"boundaries": list(seq.efficacy), **seq.to_dict()}
                sys.stdout.write(json.dumps(data, indent=2) + "\n")
            else:
                sys.stdout.write(seq.describe() + "\n")
            return 0
        if args.command == "plan":
            p = plan_study(args.effect, args.alpha, args.power, args.alternative, args.votes_per_participant, args.icc)
            lines = [
                f"To detect a share of {p.effect:.0%} against 50% (exact binomial, {args.alternative}, alpha {p.alpha}, "
                f"power {p.power}): {p.votes_independent} independent votes (achieved power {p.achieved_power:.3f}).",
            ]
            if p.votes_per_participant:
                lines.append(
                    f"With {p.votes_per_participant} votes per participant and ICC {args.icc}: design effect "
                    f"{p.design_effect:.2f}, {p.votes} votes, {p.participants} participants."
                )
            sys.stdout.write("\n".join(lines) + "\n")
            return 0
        if args.command == "scale":
            result = jod_scale(comparison_counts(load_votes(args.votes)), args.jod_prior, args.reference, args.bootstrap)
            table = result.table()
            content = table.to_csv(index=False) if args.format == "csv" else (
                table.to_string(index=False, float_format=lambda v: f"{v:+.3f}") + "\n"
                + "".join(f"note: {n}\n" for n in result.notes))
            write_output(content, args.output)
            if args.plot:
                save_jod_chart(result, args.plot, title=Path(args.votes).name)
            return 0
        if args.command == "review":
            table = participant_review(args.votes, args.max_fail_rate, args.alpha)
            content = table.to_csv(index=False) if args.format == "csv" else table.to_string(index=False) + "\n"
            write_output(content, args.output)
            return 0
        report = build_report(
            args.votes,
            study=args.votes,
            max_fail_rate=0.5 if args.max_fail_rate is None else args.max_fail_rate,
            order=args.systems,
            sequential=_read_plan(args.plan) if args.plan else None,
            **report_arguments(vars(args)),
        )
        write_output(render(report, args.format), args.output)
    except (VoteTableError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
