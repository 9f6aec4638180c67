"""Configuration: defaults, validation, TOML round trip, per-product overrides."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.config import DetectionConfig, load_config
from spikes.errors import SpikesInputError


def test_toml_round_trip(tmp_path: Path) -> None:
    cfg = DetectionConfig(min_ratio=2.5, merge_gap="45min", cusum_threshold=12.0,
                          overrides={"Outlook": {"min_ratio": 4.0}})
    path = tmp_path / "tuned.toml"
    path.write_text(cfg.to_toml(header="tuned on: test\nF1 0.9"))
    assert load_config(path) == cfg
    assert path.read_text().startswith("# tuned on: test")


def test_thresholds_follow_false_alarm_rate() -> None:
    cfg = DetectionConfig(false_alarms_per_week=0.1)
    assert cfg.cusum_h(pd.Timedelta("5min")) == pytest.approx(math.log(2016 / 0.1))
    assert cfg.tail_h(pd.Timedelta("5min")) == pytest.approx(-math.log10(0.1 / 2016))
    looser = DetectionConfig(false_alarms_per_week=1.0)
    assert looser.cusum_h(pd.Timedelta("5min")) < cfg.cusum_h(pd.Timedelta("5min"))


def test_for_product_applies_overrides() -> None:
    cfg = DetectionConfig(overrides={"Zoom": {"min_ratio": 3.0}})
    assert cfg.for_product("Zoom").min_ratio == 3.0
    assert cfg.for_product("Slack").min_ratio == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[detection]\nmin_ratoi = 2", "unknown key(s) ['min_ratoi']"),
        ("[detection]\nmin_ratio = 'high'", "min_ratio must be a number, got 'high'"),
        ("[detection]\nmin_ratio = 0.5", "min_ratio must be >= 1.0"),
        ("[detection]\nmerge_gap = 'soon'", "merge_gap = 'soon' is not a duration"),
        ("[detecton]\nmin_ratio = 2", "unknown table(s) ['detecton']"),
        ("[detection\n", "not valid TOML"),
        ("[products.Zoom]\nmin_ratoi = 2", "unknown key(s) ['min_ratoi'] in [products.'Zoom']"),
        # A misspelt key is unknown whatever its value (its type was checked first).
        ("[products.Zoom]\nmin_ratoi = '3'", "unknown key(s) ['min_ratoi'] in [products."),
        ("[products.Zoom]\noverrides = {}", "unknown key(s) ['overrides'] in [products."),
        ("[products.Zoom]\nmode = 'causal'",
         "a run detects live or with hindsight as a whole); set them in [detection]"),
        ("[products.Zoom]\nevent_window = '1h'",
         "events group the incidents of several products); set them in [detection]"),
        ("[detection]\nutc_offset = '+15h'", "utc_offset = '+15h' is not an offset from UTC"),
        ("[detection]\nutc_offset = '9'", "expected e.g. '-5h', '+9h', '+5h30min'"),
        ("[products.Zoom]\nutc_offset = 'Tokyo'",
         "products.'Zoom': utc_offset = 'Tokyo' is not an offset"),
        ("[products.Zoom]\nmin_ratio = 0.5", "products.'Zoom': min_ratio must be >= 1.0"),
        ("[products]\nOutlook = 3", "products.Outlook must be a table"),
        ("[[products]]\nmin_ratio = 3", "products must be a table"),
        ("detection = 3", "detection must be a table"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpikesInputError) as info:
        load_config(path)
    assert message in str(info.value)
    assert "bad.toml" in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SpikesInputError, match="cannot read config file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("value", [0.5, 1.0, -1.0])
def test_steep_ratio_is_a_rise_or_zero(value: float) -> None:
    with pytest.raises(SpikesInputError, match=r"steep_ratio must be > 1.0, got .* \(or 0: no"):
        DetectionConfig(steep_ratio=value)


def test_steep_ratio_zero_turns_the_chart_off() -> None:
    from spikes.detect.pipeline import default_detectors

    names = [d.name for d in default_detectors(DetectionConfig(steep_ratio=0))]
    assert names == ["tail", "cusum", "steep"]
    assert default_detectors(DetectionConfig(steep_ratio=0))[2].off
    assert not default_detectors(DetectionConfig())[2].off


def test_utc_offset_per_product_round_trips(tmp_path: Path) -> None:
    config = DetectionConfig(utc_offset="-5h", overrides={"LINE": {"utc_offset": "+9h"}})
    path = tmp_path / "local.toml"
    path.write_text(config.to_toml())
    again = load_config(path)
    assert again == config
    assert again.for_product("LINE").utc_offset == "+9h"
    assert again.for_product("Outlook").utc_offset == "-5h"


def test_a_config_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b"# r\xe9glages\n[detection]\nmin_ratio = 3.0\n")
    with pytest.raises(SpikesInputError, match="latin.toml: not UTF-8 text"):
        load_config(path)


# --- found by a hunt of the library API (each was a raw error inside analyze, or silent) -
@pytest.mark.parametrize(("settings", "message"), [
    ({"merge_gap": ""}, "merge_gap = '' is not a duration"),
    ({"min_duration": "NaT"}, "min_duration = 'NaT' is not a duration"),
    ({"onset_search": None}, "onset_search = None is not a duration"),
    # A number without a unit was read as nanoseconds: merge_gap = "120" merged nothing
    # (an outage split in two), event_window = "30" grouped nothing, unsaid.
    ({"merge_gap": "120"}, "merge_gap = '120' has no unit"),
    ({"event_window": " 30 "}, "event_window = ' 30 ' has no unit"),
    ({"min_duration": 60}, "min_duration = 60 has no unit"),
    ({"min_buckets": 2.5}, "min_buckets must be a whole number"),
    ({"baseline_days": 1.5}, "baseline_days must be a whole number"),
    ({"weekly_min_days": float("inf")}, "weekly_min_days must be a whole number"),
    ({"baseline_days": 10**9}, "baseline_days must be a whole number up to 100,000"),
    ({"calibrate": "no"}, "calibrate must be true or false, got 'no'"),
    ({"overrides": None}, "overrides must map product names to tables"),
    ({"overrides": {"A": 3}}, "overrides must map product names to tables"),
])
def test_settings_the_detection_cannot_use_are_refused_when_made(settings, message):
    with pytest.raises(SpikesInputError, match=message):
        DetectionConfig(**settings)


def test_an_override_keyed_by_a_number_is_the_product_of_that_name():
    # {1: {...}} on a column 1 looked known (unknown_products) but was never applied.
    config = DetectionConfig(overrides={1: {"min_ratio": 1000.0}})
    assert config.overrides == {"1": {"min_ratio": 1000.0}}
    assert config.for_product("1").min_ratio == 1000.0


def test_to_toml_writes_what_load_config_reads_back(tmp_path):
    # np.float64(2.5), Timedelta('0 days 00:30:00'), None and a raw line feed were
    # written as they print, which TOML cannot read.
    import numpy as np

    config = DetectionConfig(min_ratio=np.float64(2.5), merge_gap=pd.Timedelta("30min"),
                             baseline_days=np.int64(14), baseline_smoothing="15min",
                             onset_search=pd.Timedelta(days=14),
                             overrides={"Teams\nEU \"x\"\x7f": {"cusum_threshold": None,
                                                                "min_ratio": 3.0}})
    path = tmp_path / "spikes.toml"
    path.write_text(config.to_toml("tuned"))
    back = load_config(path)
    assert back.min_ratio == 2.5 and back.baseline_days == 14
    assert pd.Timedelta(back.merge_gap) == pd.Timedelta("30min")
    assert pd.Timedelta(back.onset_search) == pd.Timedelta(days=14)
    assert back.overrides == {"Teams\nEU \"x\"\x7f": {"min_ratio": 3.0}}


def test_settings_can_be_hashed_as_frozen_values():
    # hash(DetectionConfig()) raised "unhashable type: 'dict'" (its overrides).
    one = DetectionConfig(overrides={"A": {"min_ratio": 3.0}})
    same = DetectionConfig(overrides={"A": {"min_ratio": 3.0}})
    assert hash(one) == hash(same) and len({one, same, DetectionConfig()}) == 2


def test_a_status_feed_window_and_an_evaluation_allowance_need_a_unit():
    from spikes.config import StatusFeedConfig
    from spikes.evaluation.evaluate import evaluate

    with pytest.raises(SpikesInputError, match="status_feed.before = '30' is not a duration"):
        StatusFeedConfig(before="30")
    one = pd.DataFrame({"product": ["A"], "onset": [pd.Timestamp("2026-01-05", tz="UTC")],
                        "end": [pd.Timestamp("2026-01-05 01:00", tz="UTC")]})
    with pytest.raises(SpikesInputError, match="early_allowance: '10' has no unit"):
        evaluate(one, one, early_allowance="10")
    assert StatusFeedConfig(before="0").before == "0"  # zero needs none
    assert DetectionConfig(min_duration=np.timedelta64(15, "m")).min_duration is not None


def test_a_config_round_trips_through_a_dict_and_toml() -> None:
    # to_dict left the overrides out, and from_dict refused what it gave.
    config = DetectionConfig(min_ratio=3.0, overrides={"Teams": {"merge_gap": "2h"}, 3: {}})
    assert DetectionConfig.from_dict(config.to_dict()) == config
    assert config.for_product(3) is config.for_product("3")


def test_an_override_set_to_none_is_refused_where_a_file_cannot_say_it() -> None:
    # Dropped by to_toml: Outlook's derived threshold became the fixed 7.0 on reload.
    with pytest.raises(SpikesInputError, match="cusum_threshold to None"):
        DetectionConfig(cusum_threshold=7.0, overrides={"Outlook": {"cusum_threshold": None}})
    same = DetectionConfig(overrides={"Outlook": {"cusum_threshold": None}})  # as [detection]
    assert DetectionConfig.from_dict(same.to_dict()) == same
