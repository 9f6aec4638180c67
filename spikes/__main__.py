"""``python -m spikes`` runs the command line."""

import sys

from spikes.cli import main

sys.exit(main())
