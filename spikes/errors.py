"""The exception types `spikes` raises with a message for the user: bad input or bad
settings (:class:`SpikesInputError`), and a run that could not finish
(:class:`SpikesRunError`)."""

from __future__ import annotations


class SpikesInputError(ValueError):
    """Input or configuration that `spikes` cannot use.

    The message is meant for the user as it is: it names the file, the row or column
    and what was expected. The command line prints it as one line and exits with code 2;
    the dashboard shows it in an error box.
    """


class SpikesRunError(RuntimeError):
    """A run that could not finish for a reason outside its input: a worker process
    killed (out of memory), a Dask cluster that lost its workers or its scheduler.

    The message says what happened and what to try. The command line prints it as one
    line and exits with code 1.
    """
