"""The one exception type that `spikes` raises for bad input or bad settings."""

from __future__ import annotations


class SpikesInputError(ValueError):
    """Input or configuration that `spikes` cannot use.

    The message is meant for the user as it is: it names the file, the row or column
    and what was expected. The command line prints it as one line and exits with code 2;
    the dashboard shows it in an error box.
    """
