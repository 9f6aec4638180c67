"""The examples of the package's docstrings run and hold (doctest), so that the numpydoc
Examples sections a user copies do not rot. The dashboard's modules (spikes.ui) import
Streamlit and are left out, as is spikes.__main__ (it runs the command line)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import spikes

MODULES = sorted(m.name for m in pkgutil.walk_packages(spikes.__path__, "spikes.")
                 if not m.name.startswith("spikes.ui") and m.name != "spikes.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


#: Public functions of the display zone (--display-tz, explain --window, serve's demo
#: times): their docstrings give their numpydoc sections, as the package's others do.
SECTIONED = ["spikes.cli.analyze:reasons_shown", "spikes.cli.display:chosen_display_zone",
             "spikes.cli.display:display_zone", "spikes.detect.explain:has_offset",
             "spikes.detect.explain:local_time", "spikes.detect.explain:outside_data",
             "spikes.detect.reason_zone:reason_in_zone", "spikes.detect.reasons:clock_text",
             "spikes.detect.reasons:micros", "spikes.io.zones:printed_zone",
             "spikes.io.zones:zone_label", "spikes.io.zones:wall_time_in_utc",
             "spikes.detect.reason_zone:reason_shown",
             "spikes.detect.reason_zone:reason_unplaced",
             "spikes.io.printed_times:split_zone_label",
             "spikes.io.printed_times:time_with_label",
             "spikes.io.printed_times:zone_abbreviations", "spikes.io.zones:utc_offset",
             "spikes.io.zones:day_start", "spikes.io.typed_times:parse_time",
             "spikes.io.typed_times:read_typed_time",
             "spikes.io.typed_times:typed_time_in_utc",
             # A notification route's zone (tz of [[notify]]).
             "spikes.alerts.channels:message_text", "spikes.alerts.routing:route_zone",
             "spikes.alerts.zoned:at_in_zone", "spikes.alerts.zoned:end_in_zone",
             "spikes.alerts.zoned:reason_in_route_zone", "spikes.alerts.zoned:title_in_zone",
             # The zone a person chose (--display-tz, a route's tz), read alike.
             "spikes.io.zones:spelt_zone"]


@pytest.mark.parametrize("name", SECTIONED)
def test_public_functions_give_parameters_and_returns(name: str) -> None:
    module, function = name.split(":")
    doc = inspect.getdoc(getattr(importlib.import_module(module), function))
    assert "\nParameters\n----------\n" in doc and "\nReturns\n-------\n" in doc
