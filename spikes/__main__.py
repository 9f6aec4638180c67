"""``python -m spikes`` runs the command line."""

import sys

from spikes.console import run

sys.exit(run())
