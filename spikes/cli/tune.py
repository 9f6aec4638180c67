"""``spikes tune``: fit the detection thresholds to labelled outages, and adopt them only
when they beat the base settings on later data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spikes.cli.display import add_display_tz_option, display_zone
from spikes.cli.inputs import add_input_options, labels_on_data_grid, load_inputs
from spikes.cli.simulate import seed_number
from spikes.errors import SpikesInputError
from spikes.evaluation.tune import (
    DEFAULT_BUDGET,
    DEFAULT_FOLDS,
    OBJECTIVES,
    format_pareto,
    format_summary,
    tune,
    tuned_toml,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``spikes tune``."""
    p = sub.add_parser(
        "tune",
        help="fit the detection thresholds to labelled outages",
        description="Search detection settings against labelled outages with "
                    "forward-chaining folds (tune on the past, validate on the next "
                    "block), compare them with the base settings on the same validation "
                    "blocks, and adopt them only when the gain is clearly above noise (the "
                    "lower end of a 90%% paired bootstrap interval above 0, and at least one "
                    "label's worth); otherwise keep the base settings and say why in one "
                    "line. Prints the per-fold figures and the trade-off, and writes the "
                    "settings to use as TOML for `spikes analyze --config`.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="report CSV file(s), .gz allowed")
    p.add_argument("--labels", required=True, help="labels CSV (product,onset,end[,event])")
    p.add_argument("-o", "--output", help="TOML config to write (default: print it)")
    p.add_argument("--objective", choices=OBJECTIVES, default=None,
                   help="what to maximise (default f1; recall_at_fa with "
                        "--max-false-alarms-per-week, fa_at_recall with --min-recall)")
    p.add_argument("--max-false-alarms-per-week", type=float, metavar="X",
                   help="at most X false alarms per product-week, then the best recall")
    p.add_argument("--min-recall", type=float, metavar="R",
                   help="recall at least R, then the fewest false alarms")
    p.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                   help=f"most settings tried (default {DEFAULT_BUDGET})")
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                   help=f"forward-chaining folds (default {DEFAULT_FOLDS}: the span in "
                        f"{DEFAULT_FOLDS + 1} blocks)")
    p.add_argument("--seed", type=seed_number, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--per-product", action="store_true",
                   help="own thresholds for products with at least 20 labels of their own")
    p.add_argument("--force", action="store_true",
                   help="write the tuned settings even when they are not shown to help")
    p.add_argument("--config", help="TOML of base settings to beat (default: the defaults)")
    add_input_options(p, tz_for="the reports and --labels")
    add_display_tz_option(p, "the times printed (the folds' dates, the messages)")
    p.set_defaults(run=_run_tune)


def objective_of(args: argparse.Namespace) -> str:
    """The objective: as given, else implied by the limits (f1 without any)."""
    if args.objective is not None:
        return args.objective
    if args.min_recall is not None:
        return "fa_at_recall"
    if args.max_false_alarms_per_week is not None:
        return "recall_at_fa"
    return "f1"


def _check_flags(args: argparse.Namespace) -> None:
    """The search's settings checked as :func:`spikes.evaluation.tune.search.tune` does,
    with the flags' names in the message.

    Raises
    ------
    SpikesInputError
    """
    from spikes.errors import SpikesInputError
    from spikes.evaluation.tune.search import _check

    try:
        _check(objective_of(args), args.max_false_alarms_per_week, args.min_recall,
               args.budget, args.folds)
    except SpikesInputError as exc:
        text = str(exc)
        for name in ("max_false_alarms_per_week", "min_recall", "budget", "objective"):
            if text.startswith(name):
                text = f"--{name.replace('_', '-')}" + text[len(name):]
        raise SpikesInputError(text) from None
    if args.folds is not None and args.folds < 1:
        raise SpikesInputError(f"--folds: {args.folds} must be a whole number >= 1")


def _run_tune(args: argparse.Namespace) -> int:
    from spikes.cli.analyze import warn_unset_products
    from spikes.config import load_config
    from spikes.evaluation.evaluate import read_labels
    from spikes.io.output import check_outputs
    from spikes.io.reading import describe_rejected

    check_outputs({"-o": args.output},
                  {"INPUT": args.inputs, "--labels": args.labels, "--config": args.config})
    _check_flags(args)  # before any data are read, named as flags
    zone = display_zone(args.display_tz)
    base = load_config(args.config)
    labels = read_labels(args.labels, tz=args.tz, date_order=args.date_order)
    data = load_inputs(args, args.inputs)
    if len(data.rejected):
        print(describe_rejected(data.rejected), file=sys.stderr)
    labels = labels_on_data_grid(labels, data.bucket, args.labels)
    warn_unset_products(base, data.products, args.config, " (and are written as given)")
    result = tune(data, labels, base=base, objective=objective_of(args),
                  max_false_alarms_per_week=args.max_false_alarms_per_week,
                  min_recall=args.min_recall, budget=args.budget, seed=args.seed,
                  folds=args.folds, per_product=args.per_product, force=args.force,
                  progress=True, tz=zone)
    print(f"{len(data.products)} products; {result.folds.describe(zone)}; "
          f"{len(result.trials)} trials in {result.elapsed:.1f} s")
    print(format_summary(result))
    print()
    print(format_pareto(result))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    text = tuned_toml(result, args.inputs, args.labels)
    what = "the tuned settings" if result.adopted else "the base settings"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SpikesInputError(f"{args.output}: cannot write ({exc.strerror})") from None
        print(f"wrote {what} to {args.output}")
    else:
        print()
        print(text, end="")
    print(result.decision.reason if result.decision else "")
    return 0
