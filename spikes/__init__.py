"""spikes: crowd-report outage detection.

The pipeline, one module per stage: :mod:`spikes.reading` -> :mod:`spikes.buckets` ->
:mod:`spikes.baseline` -> :mod:`spikes.detectors` -> :mod:`spikes.incidents` ->
:mod:`spikes.events`; :mod:`spikes.pipeline` runs them in order, :mod:`spikes.evaluate`
scores incidents against labels, :mod:`spikes.simulate` makes labelled data.
"""

from spikes.config import DetectionConfig, load_config
from spikes.errors import SpikesInputError

__all__ = ["DetectionConfig", "SpikesInputError", "load_config"]
__version__ = "0.1.0"
