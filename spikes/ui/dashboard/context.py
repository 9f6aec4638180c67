"""What every dashboard view is given: :class:`ViewContext`."""

from __future__ import annotations

from dataclasses import dataclass

from spikes.config import DetectionConfig
from spikes.detect.pipeline import Analysis


@dataclass(frozen=True)
class ViewContext:
    """What every dashboard view is given; a new view (such as the tuning view, a function
    ``render_tuning(ctx: ViewContext) -> None``) needs nothing else.

    Attributes
    ----------
    analysis : Analysis
        Incidents and events under the sidebar's thresholds (``analysis.scored`` holds the
        baseline and scores, ``analysis.data`` the input).
    config : DetectionConfig
        The settings in force (defaults with the sidebar's thresholds).
    tz : str
        Time zone chosen for display.
    source : str
        Name of the data shown (file name).
    key : str
        Identifies the data and input options (a digest); use it in cache keys.
    """

    analysis: Analysis
    config: DetectionConfig
    tz: str
    source: str
    key: str
