"""``spikes evaluate``: score incidents against labelled outages."""

from __future__ import annotations

import argparse
import json

from spikes.cli.inputs import add_input_options, load_inputs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score incidents against labelled outages",
        description="Score detected incidents against labelled outages with the rules of "
                    "EVALUATION.md: a label is found when an incident of its product starts "
                    "in [onset - 10 min, max(end, onset + 30 min)]; extra incidents in that "
                    "window are duplicates (false positives).",
    )
    p.add_argument("--incidents", required=True, help="incidents CSV (product,onset,...)")
    p.add_argument("--labels", required=True, help="labels CSV (product,onset,end[,event])")
    p.add_argument("--data", nargs="+", metavar="INPUT",
                   help="the report CSV(s) analysed, to count product-weeks for the false "
                        "alarm rate")
    p.add_argument("--product-weeks", type=float,
                   help="product-weeks of data (instead of --data)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_input_options(p)
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from spikes.evaluation.evaluate import evaluate, read_incidents, read_labels
    from spikes.model import product_weeks as data_weeks

    incidents = read_incidents(args.incidents)
    labels = read_labels(args.labels)
    product_weeks = args.product_weeks
    if product_weeks is None and args.data:
        data = load_inputs(args, args.data)
        product_weeks = data_weeks(data.counts, data.bucket)
    result = evaluate(incidents, labels, product_weeks=product_weeks)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.to_table())
    return 0


