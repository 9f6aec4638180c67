"""Times typed as options, read one way (spikes.io.typed_times): ``explain --window``'s
START and END and ``simulate --start``. Review 46C: simulate read ``UTC+02:00`` as
-02:00; a date with an abbreviation as END was its midnight; ``ChST`` never read back;
``12:00 today`` was taken for a zone; a date whose next midnight the clocks skip could
not be an END (nor a START), and the message named a time not typed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spikes.cli import main
from spikes.errors import SpikesInputError
from spikes.io.typed_times import typed_time_in_utc
from spikes.io.zones import when


@pytest.fixture(scope="module")
def september(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of one product from 2026-09-04: America/Santiago skips the hour from
    midnight on the 6th (-04:00 to -03:00)."""
    folder = tmp_path_factory.mktemp("typed")
    reports = folder / "reports.csv"
    assert main(["simulate", "-o", str(reports), "--labels-out", str(folder / "l.csv"),
                 "--products", "1", "--days", "4", "--start", "2026-09-04", "--seed",
                 "4"]) == 0
    return reports


def _explain(reports: Path, capsys: pytest.CaptureFixture[str], start: str, end: str,
             *extra: str, code: int = 0) -> tuple[str, str]:
    assert main(["explain", str(reports), "--window", "Service 01", start, end,
                 *extra]) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Guam", "Etc/GMT-2",
                                  "America/Sao_Paulo", "Europe/London", "America/Santiago",
                                  "Asia/Kolkata"])
def test_every_time_printed_reads_back_as_itself_on_the_path_explain_reads(zone) -> None:
    # Every 20 minutes over each change of the clocks of 2026 and a day without one:
    # abbreviations in any case (ChST), offsets printed as UTC+02:00 (their sign), GMT.
    days = pd.date_range("2026-01-01", "2027-01-01", freq="D", tz="UTC")
    offsets = days.tz_convert(zone).map(lambda t: t.utcoffset())
    changes = [*days[1:][offsets[1:] != offsets[:-1]], days[40]]
    for day in changes:
        for stamp in pd.date_range(day - pd.Timedelta("1D"), day + pd.Timedelta("1D"),
                                   freq="20min"):
            printed = when(stamp, zone)
            assert typed_time_in_utc(printed, "x", display_tz=zone) == stamp, printed
            if printed.split()[-1].isalpha() and not printed.endswith("GMT"):
                assert typed_time_in_utc(printed.lower(), "x", display_tz=zone) == stamp


def test_simulate_reads_an_offset_as_explain_does_and_its_span_reads_back(tmp_path,
                                                                          capsys) -> None:
    # pd.Timestamp("... UTC+02:00") is -02:00 (POSIX): the file began 4 hours late.
    reports, labels = tmp_path / "r.csv", tmp_path / "l.csv"
    command = ["simulate", "-o", str(reports), "--labels-out", str(labels), "--products",
               "1", "--days", "1", "--bucket", "1h", "--display-tz", "UTC+02:00"]
    assert main([*command, "--start", "2026-07-01 00:00 UTC+02:00"]) == 0
    out = capsys.readouterr().out
    assert "(buckets 2026-07-01 00:00 UTC+02:00 to 2026-07-01 23:00 UTC+02:00)" in out
    assert pd.read_csv(reports)["timestamp"].iloc[0] == "2026-06-30T22:00:00+00:00"
    written = reports.read_bytes()
    # The first bucket as printed in Berlin, pasted as --start: the same file.
    assert main([*command[:-1], "Europe/Berlin", "--start", "2026-07-01 00:00 CEST"]) == 0
    assert "(buckets 2026-07-01 00:00 CEST to" in capsys.readouterr().out
    assert reports.read_bytes() == written


def test_simulate_refuses_an_abbreviation_not_the_display_zone_s_with_its_offset(
        tmp_path, capsys) -> None:
    assert main(["simulate", "-o", str(tmp_path / "r.csv"), "--labels-out",
                 str(tmp_path / "l.csv"), "--start", "2026-07-01 02:00 EDT"]) == 2
    assert capsys.readouterr().err == (
        "spikes simulate: error: --start '2026-07-01 02:00 EDT': EDT is not the "
        "abbreviation of UTC at that time (UTC, +00:00), the zone times are printed and "
        "read in; EDT is UTC-04:00: write 2026-07-01T02:00-04:00 for that time, or give the "
        "--display-tz of the zone it was printed in\n")


@pytest.mark.parametrize(("start", "end", "zone", "window"), [
    # A date with an abbreviation as END was the day's midnight: an empty window,
    # explained without a word, or one that "ends before it starts".
    ("2026-09-05 CEST", "2026-09-05 cest", "Europe/Berlin",
     "2026-09-05 00:00 CEST to 2026-09-05 23:55 CEST"),
    ("2026-09-05 06:00 CEST", "2026-09-05 CEST", "Europe/Berlin",
     "2026-09-05 06:00 CEST to 2026-09-05 23:55 CEST"),
    # ChST was upper-cased and never matched the zone's own spelling.
    ("2026-09-05 20:00 ChST", "2026-09-05 22:00 CHST", "Pacific/Guam",
     "2026-09-05 20:00 ChST to 2026-09-05 22:00 ChST"),
    # As the report and label files read them (MEZ is CET, MESZ CEST).
    ("2026-09-05 14:00 MESZ", "2026-09-05 16:00 CEST", "Europe/Berlin",
     "2026-09-05 14:00 CEST to 2026-09-05 16:00 CEST"),
])
def test_a_window_with_abbreviations_is_read_in_the_display_zone(september, capsys, start,
                                                                 end, zone, window) -> None:
    out, _ = _explain(september, capsys, start, end, "--display-tz", zone)
    assert out.startswith(f"Service 01, {window}: ")


def test_a_date_with_an_abbreviation_the_zone_has_not_that_day_is_refused() -> None:
    with pytest.raises(SpikesInputError) as raised:
        typed_time_in_utc("2026-09-05 CET", "explain: end", display_tz="Europe/Berlin",
                          end=True)
    assert str(raised.value) == (
        "explain: end '2026-09-05 CET': CET is not the abbreviation of Europe/Berlin on that "
        "day (CEST, +02:00), the zone times are printed and read in; give the time with the "
        "UTC offset of the zone it was printed in, without a zone, or with the --display-tz "
        "of that zone")
    # The day the clocks go back has both.
    for label in ("CEST", "CET"):
        assert typed_time_in_utc(f"2026-10-25 {label}", "x", display_tz="Europe/Berlin",
                                 end=True) == pd.Timestamp("2026-10-25 23:00", tz="UTC") \
            - pd.Timedelta(microseconds=1)


def test_a_word_after_a_time_that_no_zone_has_is_not_a_time(september, capsys) -> None:
    # It was "TODAY is not the abbreviation of Europe/Berlin at that time (CEST) ...".
    for word in ("today", "noon", "local", "hrs"):
        _, err = _explain(september, capsys, f"2026-09-05 12:00 {word}", "2026-09-05 14:00",
                          "--display-tz", "Europe/Berlin", code=2)
        assert err == (f"spikes explain: error: explain: start '2026-09-05 12:00 {word}' is "
                       "not a time; expected e.g. 2026-01-22T14:05 (Europe/Berlin unless an "
                       "offset is given)\n")


def test_a_date_whose_midnight_the_clocks_skip_is_a_whole_day(september, capsys) -> None:
    # Refused: "end: '2026-09-06 00:00:00' cannot be read in time zone ...", a time the
    # user did not type. The day ends at the first instant of the next, 01:00 -03:00.
    out, _ = _explain(september, capsys, "2026-09-05 12:00", "2026-09-05", "--tz",
                      "America/Santiago")
    assert out.startswith("Service 01, 2026-09-05 16:00 UTC to 2026-09-06 03:55 UTC: ")
    out, _ = _explain(september, capsys, "2026-09-06", "2026-09-06", "--tz",
                      "America/Santiago", "--display-tz", "America/Santiago")
    assert out.startswith("Service 01, 2026-09-06 01:00 UTC-03:00 to 2026-09-06 23:55 "
                          "UTC-03:00: ")


@pytest.mark.parametrize(("naive", "zone", "said"), [
    ("2026-09-06 00:30", "America/Santiago", "it does not exist there, the hour the clocks "
                                             "skip): give it with its UTC offset "
                                             "(2026-09-06T00:30 then -04:00 or -03:00)"),
    ("2026-10-25 02:30", "Europe/Berlin", "it occurs twice there, the hour the clocks go "
                                          "back): give it with its UTC offset "
                                          "(2026-10-25T02:30 then +02:00 or +01:00)"),
])
def test_explain_says_a_naive_bound_the_clocks_skip_or_repeat_in_one_line(
        september, capsys, naive, zone, said) -> None:
    # As its other messages name the bound: "explain: start '...'" (was "start: '...'").
    _, err = _explain(september, capsys, naive, "2026-09-06 12:00", "--display-tz", zone,
                      code=2)
    assert err == (f"spikes explain: error: explain: start {naive!r} cannot be read in time "
                   f"zone {zone!r} ({said}\n")
