"""``spikes tune``: fit the detection thresholds to labelled outages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spikes.cli.inputs import add_input_options, load_inputs
from spikes.errors import SpikesInputError
from spikes.evaluation.tune import (
    DEFAULT_BUDGET,
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
        description="Search detection settings against labelled outages: tune on the "
                    "earlier part of the data, validate on the later part, print the "
                    "precision / recall / delay trade-off (Pareto front) and write the "
                    "chosen settings as a TOML config for `spikes analyze --config`. "
                    "Ctrl-C stops the search and keeps the best settings so far.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="report CSV file(s), .gz allowed")
    p.add_argument("--labels", required=True, help="labels CSV (product,onset,end[,event])")
    p.add_argument("-o", "--output", help="TOML config to write (default: print it)")
    p.add_argument("--objective", choices=OBJECTIVES, default="f1",
                   help="what to maximise on the training slice (default f1; f2 favours "
                        "recall, f0.5 precision; recall_at_fa needs "
                        "--max-false-alarms-per-week)")
    p.add_argument("--max-false-alarms-per-week", type=float, metavar="X",
                   help="settings with more false alarms per product-week on the training "
                        "slice are not chosen (default: no limit)")
    p.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                   help=f"number of settings tried (default {DEFAULT_BUDGET})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--split", type=float, default=0.5,
                   help="share of the time span to tune on, the rest validates (default 0.5)")
    p.add_argument("--per-product", action="store_true",
                   help="also tune min_ratio / min_excess_reports overrides for products of "
                        "outlying volume (10x from the median) or with many labels")
    p.add_argument("--config", help="TOML of starting settings (default: the defaults)")
    add_input_options(p)
    p.set_defaults(run=_run_tune)


def _run_tune(args: argparse.Namespace) -> int:
    from spikes.config import load_config
    from spikes.evaluation.evaluate import read_labels
    from spikes.io.reading import describe_rejected

    base = load_config(args.config)
    labels = read_labels(args.labels)
    data = load_inputs(args, args.inputs)
    if len(data.rejected):
        print(describe_rejected(data.rejected), file=sys.stderr)
    result = tune(data, labels, base=base, objective=args.objective,
                  max_false_alarms_per_week=args.max_false_alarms_per_week,
                  budget=args.budget, seed=args.seed, split=args.split,
                  per_product=args.per_product, progress=True)
    print(f"{len(data.products)} products; {result.split.describe()}; "
          f"{len(result.trials)} trials in {result.elapsed:.1f} s")
    print(format_summary(result))
    print()
    print(format_pareto(result))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    text = tuned_toml(result, args.inputs, args.labels)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SpikesInputError(f"{args.output}: cannot write ({exc.strerror})") from None
        print(f"wrote the chosen settings (trial {result.chosen}) to {args.output}")
    else:
        print()
        print(text, end="")
    if result.interrupted:
        print(f"spikes tune: interrupted; kept the best of {len(result.trials)} trials"
              + (f" and wrote it to {args.output}" if args.output else ""), file=sys.stderr)
    return 0
