"""Messages of a settings file with a value of the wrong kind, or a setting outside its
table: in the words of the file (TOML), never Python's type names."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from spikes.config import DetectionConfig, load_config
from spikes.errors import SpikesInputError


def _message(tmp_path: Path, text: str) -> str:
    """The message of loading `text` as a settings file (it must be refused)."""
    path = tmp_path / "k.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpikesInputError) as info:
        load_config(path)
    return str(info.value)


# --- F13: a value of the wrong kind ------------------------------------------------
@pytest.mark.parametrize(("line", "message"), [
    # Durations: a number alone has no unit (was "merge_gap should be a str, got 30").
    ("merge_gap = 30", "k.toml: merge_gap = 30 has no unit: write a duration such as '30min'"),
    ("min_duration = 1.5", "min_duration = 1.5 has no unit: write a duration such as '1.5min'"),
    ("event_window = -5", "event_window = -5 is not a duration (expected e.g. '15min', '1h')"),
    ("onset_search = true", "onset_search = true is not a duration"),
    ("baseline_smoothing = inf", "baseline_smoothing = inf is not a duration"),
    # Whole numbers (was "min_buckets should be a int, got 2.5").
    ("min_buckets = 2.5", "k.toml: min_buckets must be a whole number, got 2.5"),
    ("baseline_days = 14.0", "baseline_days must be a whole number, got 14.0: write "
                             "baseline_days = 14"),
    ("weekly_min_days = '14'", "weekly_min_days must be a whole number, got '14': write it "
                               "without quotes (14)"),
    ("min_buckets = true", "min_buckets must be a whole number, got true"),
    # Numbers, and the ones whose absence has a meaning of its own.
    ("min_ratio = 'high'", "min_ratio must be a number, got 'high'"),
    ("min_excess_reports = '5'", "min_excess_reports must be a number, got '5': write it "
                                 "without quotes (5)"),
    ("false_alarms_per_week = false", "false_alarms_per_week must be a number, got false"),
    ("cusum_threshold = 'auto'", "cusum_threshold must be a number, got 'auto' (or leave the "
                                 "key out to derive it)"),
    ("tail_threshold = 2026-01-05", "tail_threshold must be a number, got 2026-01-05"),
    # True or false.
    ("calibrate = 'yes'", "calibrate must be true or false, got 'yes'"),
    ("calibrate = 1", "calibrate must be true or false, got 1"),
    ("calibrate = 'false'", "calibrate must be true or false, got 'false': write it without "
                            "quotes (false)"),
    # Text of its own kind.
    ("utc_offset = 9", "utc_offset = 9 has no unit: write an offset such as '+9h'"),
    ("utc_offset = -5", "utc_offset = -5 has no unit: write an offset such as '-5h'"),
    ("mode = 1", "mode = 1 is not one of causal, retrospective"),
])
def test_a_value_of_the_wrong_kind_says_what_to_write(tmp_path: Path, line: str,
                                                      message: str) -> None:
    text = _message(tmp_path, f"[detection]\n{line}\n")
    assert message in text
    assert "should be a" not in text


def test_every_setting_has_a_message_in_words_of_the_file(tmp_path: Path) -> None:
    # A list fits no setting: each says what it expected, none a Python type name.
    keys = [f.name for f in fields(DetectionConfig) if f.name != "overrides"]
    for key in keys:
        text = _message(tmp_path, f"[detection]\n{key} = [1]\n")
        assert text.startswith(f"{tmp_path / 'k.toml'}: {key}"), text
        for word in ("str", "int", "float", "bool", "NoneType"):
            assert f" {word}" not in text, text


def test_an_override_of_the_wrong_kind_names_its_product(tmp_path: Path) -> None:
    text = _message(tmp_path, '[products."Zoom"]\nmerge_gap = 30\n')
    assert "products.Zoom.merge_gap = 30 has no unit: write a duration such as '30min'" in text


def test_the_messages_made_by_the_settings_themselves_are_kept() -> None:
    with pytest.raises(SpikesInputError, match=r"merge_gap = '120' has no unit \(a number "):
        DetectionConfig(merge_gap="120")
    with pytest.raises(SpikesInputError, match="min_buckets must be a whole number up to"):
        DetectionConfig(min_buckets=2.5)


# --- F14: a setting above every table -------------------------------------------------
def test_a_setting_outside_its_table_says_where_it_belongs(tmp_path: Path) -> None:
    # Was "unknown table(s) ['min_ratio']": a line of the README table without [detection].
    text = _message(tmp_path, "min_ratio = 2.5\n")
    assert text.endswith("k.toml: min_ratio is a setting of [detection]: put it under "
                         "that table")
    assert "unknown table" not in text


def test_settings_of_several_tables_outside_them_are_each_placed(tmp_path: Path) -> None:
    text = _message(tmp_path, "min_ratio = 2.5\nmerge_gap = '2h'\nbefore = '1h'\n")
    assert ("merge_gap, min_ratio are settings of [detection]; before is a setting of "
            "[status_feed]: put them under those tables") in text


def test_an_unknown_table_is_named_as_before(tmp_path: Path) -> None:
    text = _message(tmp_path, "[detecton]\nmin_ratio = 2\n")
    assert "unknown table(s) ['detecton']; expected [detection]" in text
    assert "unknown table(s) ['foo']" in _message(tmp_path, "foo = 1\n")
