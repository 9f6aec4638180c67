"""``spikes serve``: the live HTTP service over a DuckDB store (uvicorn)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from spikes.cli.notify import add_notify_options, notify_routes
from spikes.errors import SpikesInputError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the live service: reports in over HTTP, incidents as buckets close",
        description="Take reports over HTTP (POST /v1/reports), keep them in a DuckDB file "
                    "and run live detection as buckets close. API docs at /docs.",
    )
    p.add_argument("--store", default="spikes.duckdb", help="DuckDB file (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--token-file", help="file holding the bearer token of every /v1 call "
                                        "(default: the SPIKES_TOKEN environment variable)")
    p.add_argument("--clock", choices=("wall", "data"), default="wall",
                   help="wall: buckets also close as time passes; data: only as later "
                        "reports arrive (replays of history)")
    p.add_argument("--lateness", default=None,
                   help="how long a bucket stays open after its end (default: one bucket)")
    p.add_argument("--max-body", default="10MB", help="largest request body (default %(default)s)")
    p.add_argument("--bucket", default="5min", help="bucket size (default %(default)s)")
    p.add_argument("--config", help="TOML file of detection settings and [[notify]] routes "
                                    "(see README)")
    add_notify_options(p)
    p.set_defaults(run=_run_serve)


def parse_size(text: str) -> int:
    """A byte size such as ``10MB``, ``512kB`` or ``1000`` (k, M, G are powers of 1024).

    Raises
    ------
    SpikesInputError
        For anything else.
    """
    match = _SIZE.match(text)
    if not match:
        raise SpikesInputError(f"--max-body: expected a size such as 10MB, got {text!r}")
    scale = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def read_token(token_file: str | None) -> str | None:
    """The bearer token from `token_file`, else ``SPIKES_TOKEN``, else None."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SpikesInputError(f"cannot read --token-file {token_file}: "
                                   f"{exc.strerror}") from None
        if not token:
            raise SpikesInputError(f"--token-file {token_file} is empty")
        return token
    return os.environ.get("SPIKES_TOKEN") or None


def _run_serve(args: argparse.Namespace) -> int:
    import pandas as pd
    import uvicorn

    from spikes.config import load_config
    from spikes.io.buckets import parse_bucket
    from spikes.service.app import create_app

    token = read_token(args.token_file)
    if token is None:
        if args.host not in _LOOPBACK:
            raise SpikesInputError(f"no token (SPIKES_TOKEN or --token-file): the service "
                                   f"binds only 127.0.0.1, not {args.host}")
        print("spikes serve: no token given: /v1 is open to this machine only "
              "(bound to 127.0.0.1)", file=sys.stderr)
    bucket = parse_bucket(args.bucket)
    try:
        lateness = bucket if args.lateness is None else pd.Timedelta(args.lateness)
    except ValueError:
        raise SpikesInputError(f"--lateness: expected a duration such as 5min, "
                               f"got {args.lateness!r}") from None
    if lateness < pd.Timedelta(0):
        raise SpikesInputError("--lateness must not be negative")
    config = load_config(args.config)
    if config.mode != "causal":
        raise SpikesInputError(f"{args.config}: the service detects live; mode must be "
                               f"\"causal\", not {config.mode!r}")
    routes = notify_routes(args)
    app = create_app(args.store, token=token, bucket=bucket, clock=args.clock,
                     lateness=lateness, max_body=parse_size(args.max_body), config=config,
                     notify=routes)
    print(f"spikes serve: store {args.store}, {args.clock} clock, bucket {args.bucket}, "
          f"on http://{args.host}:{args.port} (API docs at /docs)"
          + (f", notifying {len(routes)} route(s)" if routes else ""), file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
