"""``--display-tz ZONE``: the times ``spikes analyze`` and ``spikes explain`` print are
shown in ZONE, each with its zone (``2026-03-29 15:00 CEST``), while the files written
keep UTC (user walk: "CLI output times are UTC only"; the dashboard had a zone
selector). Without it the times are UTC and say so, the table's too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikes.cli import main
from spikes.cli.display import display_zone
from spikes.errors import SpikesInputError
from spikes.io.zones import when

#: The clocks of Berlin go forward on 2026-03-29 at 01:00 UTC (CET to CEST).
OUTAGE = pd.Timestamp("2026-03-29 13:00", tz="UTC")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A week of counts over the change to summer time, an outage at 13:00 UTC."""
    index = pd.date_range("2026-03-22", "2026-03-30", freq="5min", inclusive="left",
                          tz="UTC")
    counts = np.random.default_rng(7).poisson(6.0, len(index)).astype(float)
    hit = (index >= OUTAGE) & (index < OUTAGE + pd.Timedelta("1h"))
    counts[hit] = 90.0
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "product": "Outlook", "reports": counts})
    path = tmp_path_factory.mktemp("zone") / "reports.csv"
    frame.to_csv(path, index=False)
    return path


def _analyze(reports: Path, out: Path, capsys: pytest.CaptureFixture[str],
             *extra: str) -> list[str]:
    assert main(["analyze", str(reports), "-o", str(out), "--jobs", "1", *extra]) == 0
    return capsys.readouterr().out.splitlines()


def test_analyze_prints_local_times_with_their_zone(reports, tmp_path, capsys) -> None:
    lines = _analyze(reports, tmp_path / "local.csv", capsys, "--display-tz", "europe/berlin")
    # The data's span: winter time at its start, summer time at its end.
    assert "(2026-03-22 01:00 CET to 2026-03-30 01:55 CEST)" in lines[0]
    row = next(line.split() for line in lines if line.split()[1:2] == ["Outlook"])
    assert row[2:5] == ["2026-03-29", "15:00", "CEST"]  # onset: 13:00 UTC
    assert row[5:8] == ["2026-03-29", "15:10", "CEST"]  # alerted_at
    assert lines[-1].endswith("(its times in UTC, ISO-8601 with offset)")
    # The why too (it was printed in UTC, "... at 13:00 UTC ...; started 13:00"); the
    # file's is UTC, and the line says so.
    why = next(i for i, line in enumerate(lines) if line.startswith("why ("))
    assert lines[why] == "why (the newest 1; every incident's is in the why column of -o, in UTC):"
    assert lines[why + 1].startswith("- Outlook: 90 reports in 5 min against ")
    assert " usual on a Sunday at 15:00 CEST (" in lines[why + 1]
    assert lines[why + 1].endswith("; started 15:00, raised 15:10.")
    assert "UTC" not in lines[why + 1]


def test_the_files_keep_utc_whatever_the_display_zone(reports, tmp_path, capsys) -> None:
    _analyze(reports, tmp_path / "local.csv", capsys, "--display-tz", "Asia/Kolkata")
    default = _analyze(reports, tmp_path / "utc.csv", capsys)
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "utc.csv").read_bytes()
    onset = pd.read_csv(tmp_path / "utc.csv")["onset"].iloc[0]
    assert onset == "2026-03-29T13:00:00+00:00"
    # Without the option: UTC, said in the head and on every time of the table.
    assert "(2026-03-22 00:00 UTC to 2026-03-29 23:55 UTC)" in default[0]
    row = next(line.split() for line in default if line.split()[1:2] == ["Outlook"])
    assert row[2:5] == ["2026-03-29", "13:00", "UTC"]
    assert default[-1] == f"wrote 1 incident to {tmp_path / 'utc.csv'}"


@pytest.mark.parametrize(("zone", "shown"), [
    ("UTC+05:30", "2026-03-29 18:30 UTC+05:30"),
    ("utc+1", "2026-03-29 14:00 UTC+01:00"),
    ("America/Sao_Paulo", "2026-03-29 10:00 UTC-03:00"),  # its abbreviation is "-03"
    ("america/new_york", "2026-03-29 09:00 EDT"),
])
def test_zones_are_read_as_tz_reads_them(zone: str, shown: str) -> None:
    assert when(OUTAGE, display_zone(zone)) == shown


def test_an_unknown_zone_is_one_line_naming_the_option(reports, tmp_path, capsys) -> None:
    out = tmp_path / "never.csv"
    assert main(["analyze", str(reports), "-o", str(out), "--display-tz", "CST"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("spikes analyze: error: --display-tz: unknown time zone 'CST': it "
                          "stands for US Central")
    assert not out.exists()
    with pytest.raises(SpikesInputError, match=r"--display-tz: unknown time zone 'Mars/Base'"):
        display_zone("Mars/Base")


def test_explain_prints_the_window_in_the_display_zone(reports, capsys) -> None:
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00Z",
                 "2026-03-29T14:00Z", "--display-tz", "Europe/Berlin"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised"
    assert lines[1] == ("  incident from 2026-03-29 15:00 CEST, raised at 2026-03-29 15:10 "
                        "CEST")
    assert any(line.startswith("  stretch from 2026-03-29 15:00 CEST (alarm 15:00 CEST")
               for line in lines)
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00",
                 "2026-03-29T14:00"]) == 0
    assert capsys.readouterr().out.startswith(
        "Outlook, 2026-03-29 12:00 UTC to 2026-03-29 14:00 UTC: raised\n"
        "  incident from 2026-03-29 13:00 UTC, raised at 2026-03-29 13:10 UTC\n")


def test_explain_names_missed_labels_in_the_display_zone(reports, tmp_path, capsys) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("product,onset,end\nOutlook,2026-03-27T08:00Z,2026-03-27T09:00Z\n")
    assert main(["explain", str(reports), "--labels", str(labels), "--display-tz",
                 "Europe/Berlin"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 of 1 labelled outages missed"
    assert out[2].startswith("- Outlook 2026-03-27 09:00 CET: ")


def test_the_notifications_sent_are_listed_in_the_display_zone(reports, capsys) -> None:
    from tests.receivers import Webhook

    with Webhook() as hook:
        assert main(["analyze", str(reports), "--jobs", "1", "--notify", hook.url + "/hook",
                     "--display-tz", "Europe/Berlin"]) == 0
    out = capsys.readouterr().out.splitlines()
    sent = [line.split() for line in out if line.startswith("  2026-")]
    assert [line[:5] for line in sent] == [["2026-03-29", "15:10", "CEST", "E0001", "open"],
                                           ["2026-03-29", "17:05", "CEST", "E0001",
                                            "resolved"]]


def test_only_the_incidents_printed_are_formatted(monkeypatch) -> None:
    # Every incident's times were formatted (about 30 us each with the zone's name) to
    # print the newest 40: seconds for a run of 100,000 incidents.
    import dataclasses

    import spikes.io.zones
    from spikes.cli import summary_table
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data, diurnal_counts, with_outage

    counts = with_outage(diurnal_counts(days=4, level=20.0, seed=4, products=1), "p0",
                         3 * 288 + 100, 12, 8.0)
    analysis = analyze(as_data(counts))
    many = dataclasses.replace(analysis, incidents=pd.concat(
        [analysis.incidents] * 500, ignore_index=True))
    calls = []
    original = spikes.io.zones.when
    monkeypatch.setattr(spikes.io.zones, "when",
                        lambda stamp, zone="UTC": calls.append(stamp) or original(stamp, zone))
    text = summary_table(many, rows=3, tz="Europe/Berlin")
    assert "(497 earlier incidents not shown" in text
    assert len(calls) <= 3 * 3 + 10  # the table's 3 rows, the head and a few lines


def test_names_of_utc_print_as_without_the_option(reports, tmp_path, capsys) -> None:
    # --display-tz Etc/UTC printed "UTC" times but still the notes that the files' and
    # the why's times are in UTC, as if they differed from the ones printed.
    assert display_zone("Etc/UTC") == display_zone("zulu") == display_zone("+00:00") == "UTC"
    lines = _analyze(reports, tmp_path / "etc.csv", capsys, "--display-tz", "Etc/UTC")
    assert lines[-1] == f"wrote 1 incident to {tmp_path / 'etc.csv'}"
    assert not any("their times in UTC" in line for line in lines)


def test_an_ambiguous_abbreviation_names_the_zones_it_stands_for() -> None:
    # The advice for CST named Asia/Kolkata, which CST never stands for.
    with pytest.raises(SpikesInputError) as caught:
        display_zone("CST")
    message = str(caught.value)
    assert "America/Chicago, Asia/Shanghai or America/Havana" in message
    assert "Kolkata" not in message
    with pytest.raises(SpikesInputError, match="Asia/Kolkata, Europe/Dublin or Asia/Jerusalem"):
        display_zone("ist")


# --- SPIKES_DISPLAY_TZ: the environment's default for --display-tz ---------------------


def test_the_environment_sets_the_display_zone(reports, tmp_path, capsys,
                                               monkeypatch) -> None:
    # An analyst who always reads Berlin time sets it once in the shell's profile.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "europe/berlin")
    lines = _analyze(reports, tmp_path / "env.csv", capsys)
    assert "(2026-03-22 01:00 CET to 2026-03-30 01:55 CEST)" in lines[0]
    row = next(line.split() for line in lines if line.split()[1:2] == ["Outlook"])
    assert row[2:5] == ["2026-03-29", "15:00", "CEST"]
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00Z",
                 "2026-03-29T14:00Z"]) == 0
    assert capsys.readouterr().out.startswith(
        "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised\n")
    assert display_zone(None) == "Europe/Berlin"


def test_the_option_wins_over_the_environment(reports, tmp_path, capsys,
                                              monkeypatch) -> None:
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Europe/Berlin")
    lines = _analyze(reports, tmp_path / "opt.csv", capsys, "--display-tz", "UTC")
    assert "(2026-03-22 00:00 UTC to 2026-03-29 23:55 UTC)" in lines[0]
    # A bad value in the environment is not looked at when the option is given.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Mars/Base")
    lines = _analyze(reports, tmp_path / "opt.csv", capsys, "--display-tz", "Asia/Tokyo")
    assert "(2026-03-22 09:00 JST to 2026-03-30 08:55 JST)" in lines[0]
    # Empty is unset.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "  ")
    assert display_zone(None) == "UTC"


def test_a_bad_environment_zone_is_one_line_naming_the_variable(reports, tmp_path, capsys,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Mars/Base")
    out = tmp_path / "never.csv"
    assert main(["analyze", str(reports), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("spikes analyze: error: SPIKES_DISPLAY_TZ (the environment's "
                          "default for --display-tz): unknown time zone 'Mars/Base'")
    assert not out.exists()
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00",
                 "2026-03-29T14:00"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SPIKES_DISPLAY_TZ" in err


# --- explain: every time printed in the display zone -------------------------------------


def test_explain_gives_the_reasons_of_missed_labels_in_the_display_zone(reports, tmp_path,
                                                                        capsys) -> None:
    # The onsets were in the display zone, but the reasons' times in UTC: the detectors'
    # peaks, where the data begin, and the window outside the data.
    labels = tmp_path / "labels.csv"
    labels.write_text("product,onset,end\nOutlook,2026-03-27T08:00Z,2026-03-27T09:00Z\n"
                      "Outlook,2026-03-21T08:00Z,2026-03-22T00:20Z\n"
                      "Outlook,2026-04-02T08:00Z,2026-04-02T09:00Z\n")
    local, utc = tmp_path / "local.csv", tmp_path / "utc.csv"
    assert main(["explain", str(reports), "--labels", str(labels), "-o", str(local),
                 "--display-tz", "Europe/Berlin"]) == 0
    lines = capsys.readouterr().out.splitlines()
    missed = [line for line in lines if line.startswith("- Outlook ")]
    assert len(missed) == 3
    assert all(" UTC" not in line for line in missed), missed
    assert "tail: peak 1.26 at 2026-03-27 09:05 CET, threshold" in missed[0]
    assert "the data begin at 2026-03-22 01:00 CET, 970min after" in missed[1]
    assert missed[2].startswith("- Outlook 2026-04-02 10:00 CEST: not in the data. ")
    assert ("lies outside the data (2026-03-22 01:00 CET to 2026-03-30 01:55 CEST)"
            in missed[2])
    # The file keeps UTC: the same bytes as without the option.
    assert main(["explain", str(reports), "--labels", str(labels), "-o", str(utc)]) == 0
    said = capsys.readouterr().out
    assert "tail: peak 1.26 at 2026-03-27 08:05 UTC, threshold" in said
    assert local.read_bytes() == utc.read_bytes()
    assert "the data begin at 2026-03-22 00:00 UTC" in utc.read_text()


def test_explain_says_a_window_outside_the_data_in_the_display_zone(reports, capsys) -> None:
    assert main(["explain", str(reports), "--window", "Outlook", "2026-04-02T00:00Z",
                 "2026-04-02T06:00Z", "--display-tz", "Europe/Berlin"]) == 2
    err = capsys.readouterr().err
    assert err == ("spikes explain: error: explain: the window 2026-04-02 02:00 CEST to "
                   "2026-04-02 08:00 CEST lies outside the data (2026-03-22 01:00 CET to "
                   "2026-03-30 01:55 CEST)\n")
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T14:00Z",
                 "2026-03-29T12:00Z", "--display-tz", "Europe/Berlin"]) == 2
    assert capsys.readouterr().err == (
        "spikes explain: error: explain: the window ends (2026-03-29 14:00 CEST) before it "
        "starts (2026-03-29 16:00 CEST)\n")


def test_a_why_whose_times_cannot_be_placed_is_said_in_utc() -> None:
    # An incidents table edited by hand: its why is printed as written, saying its zone,
    # never with some times moved and others not.
    import dataclasses

    from spikes.cli import summary_table
    from spikes.detect.pipeline import analyze
    from tests.conftest import as_data, diurnal_counts, with_outage

    counts = with_outage(diurnal_counts(days=4, level=20.0, seed=4, products=1), "p0",
                         3 * 288 + 100, 12, 8.0)
    analysis = analyze(as_data(counts))
    edited = analysis.incidents.assign(why="p0: checked by hand at 19:05 UTC.")
    text = summary_table(dataclasses.replace(analysis, incidents=edited),
                         tz="Europe/Berlin")
    assert text.endswith("\n- p0: checked by hand at 19:05 UTC. (times in UTC)")
    assert summary_table(dataclasses.replace(analysis, incidents=edited)).endswith(
        "\n- p0: checked by hand at 19:05 UTC.")


# --- explain --window: naive START and END in the zone the user reads --------------------


def test_the_window_is_read_in_the_display_zone(reports, capsys, monkeypatch) -> None:
    # The analyst reads Berlin times and types them: 15:00 is 15:00 CEST, as printed
    # back (it was read as 15:00 UTC and printed as 17:00 CEST).
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T14:00",
                 "2026-03-29 16:00", "--display-tz", "Europe/Berlin"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised\n")
    assert captured.err == ""
    # So with the environment's zone, and a date as END is that whole day there.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Europe/Berlin")
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29",
                 "2026-03-29"]) == 0
    assert capsys.readouterr().out.startswith(
        "Outlook, 2026-03-29 00:00 CET to 2026-03-29 23:55 CEST: raised\n")
    # An offset in the text wins.
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00+00:00",
                 "2026-03-29T15:00+01:00"]) == 0
    assert capsys.readouterr().out.startswith(
        "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised\n")


def test_a_window_read_in_another_zone_than_tz_is_said(reports, capsys) -> None:
    # --tz says where the files' naive times are; the window typed is read in the zone
    # the user reads, and a note says so when the two differ.
    assert main(["explain", str(reports), "--tz", "UTC+01:00", "--window", "Outlook",
                 "2026-03-29T14:00", "2026-03-29T16:00", "--display-tz",
                 "Europe/Berlin"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised\n")
    assert captured.err == (
        "note: --window START and END without an offset are read in Europe/Berlin "
        "(--display-tz, the zone times are printed in), not in --tz UTC+01:00 (the files' "
        "naive times): write 2026-03-29T14:00+01:00 for 2026-03-29T14:00 in --tz\n")
    # Without --display-tz the window is read in --tz, as before.
    assert main(["explain", str(reports), "--tz", "Europe/Berlin", "--window", "Outlook",
                 "2026-03-29T14:00", "2026-03-29T16:00"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "Outlook, 2026-03-29 12:00 UTC to 2026-03-29 14:00 UTC: raised\n")
    assert captured.err == ""


def test_the_note_gives_the_end_of_the_day_for_a_date_as_end(reports, capsys) -> None:
    # A date as END is the end of that day: the note wrote its midnight at --tz's offset
    # (2026-03-29T00:00+01:00), which ends the window before it starts. It gives the last
    # minute of the day in --tz, at that time's offset (summer time there by then).
    assert main(["explain", str(reports), "--tz", "Europe/Berlin", "--display-tz", "UTC",
                 "--window", "Outlook", "2026-03-29T12:00Z", "2026-03-29"]) == 0
    note = capsys.readouterr().err
    assert note.endswith(": write 2026-03-29T23:59+02:00 for the end of 2026-03-29 in "
                         "--tz\n"), note
    # Following the advice gives the day in --tz, as the window meant before the branch.
    assert main(["explain", str(reports), "--tz", "Europe/Berlin", "--display-tz", "UTC",
                 "--window", "Outlook", "2026-03-29T12:00Z", "2026-03-29T23:59+02:00"]) == 0
    assert capsys.readouterr().out.startswith(
        "Outlook, 2026-03-29 12:00 UTC to 2026-03-29 21:55 UTC: raised\n")


def test_a_window_read_in_the_environments_zone_is_said(reports, capsys,
                                                        monkeypatch) -> None:
    # A runbook's naive times (UTC before SPIKES_DISPLAY_TZ) change meaning in a shell
    # that sets the variable: one line on stderr says so, --tz given or not.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Europe/Berlin")
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T14:00",
                 "2026-03-29T16:00"]) == 0
    assert capsys.readouterr().err == (
        "note: --window START and END without an offset are read in Europe/Berlin "
        "(SPIKES_DISPLAY_TZ, the zone times are printed in), not in UTC\n")
    assert main(["explain", str(reports), "--tz", "Europe/Berlin", "--window", "Outlook",
                 "2026-03-29T14:00", "2026-03-29T16:00"]) == 0
    assert capsys.readouterr().err == (
        "note: --window START and END without an offset are read in Europe/Berlin "
        "(SPIKES_DISPLAY_TZ, the zone times are printed in)\n")
    # Nothing to say where every bound gives its offset, or the option names the zone.
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29T12:00Z",
                 "2026-03-29T14:00Z"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["explain", str(reports), "--display-tz", "Europe/Berlin", "--window",
                 "Outlook", "2026-03-29T14:00", "2026-03-29T16:00"]) == 0
    assert capsys.readouterr().err == ""


def test_the_note_writes_fixed_offsets_with_their_sign(reports, capsys) -> None:
    # --tz UTC-03:00 was named "--tz Etc/GMT+3" (the database's inverted sign).
    assert main(["explain", str(reports), "--tz", "UTC-03:00", "--display-tz", "UTC+02:00",
                 "--window", "Outlook", "2026-03-29T14:00", "2026-03-29T16:00"]) == 0
    assert capsys.readouterr().err == (
        "note: --window START and END without an offset are read in UTC+02:00 "
        "(--display-tz, the zone times are printed in), not in --tz UTC-03:00 (the files' "
        "naive times): write 2026-03-29T14:00-03:00 for 2026-03-29T14:00 in --tz\n")


def test_times_as_printed_are_read_back_in_the_display_zone(reports, capsys) -> None:
    # "2026-03-29 15:00 CEST", pasted from what explain printed, was "not a time".
    assert main(["explain", str(reports), "--window", "Outlook", "2026-03-29 14:00 CEST",
                 "2026-03-29 16:00 CEST", "--display-tz", "Europe/Berlin", "--tz",
                 "Asia/Tokyo"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "Outlook, 2026-03-29 14:00 CEST to 2026-03-29 16:00 CEST: raised\n")
    assert captured.err == ""  # it gives its zone: no note of the zone naive ones are in


_ADVICE = "give the time with the UTC offset of the zone it was printed in, without a zone, " \
          "or with the --display-tz of that zone"


@pytest.mark.parametrize(("start", "zone", "said"), [
    # Winter time is over at 14:00 that day: CET names no time then. Both offsets are
    # said, each with whose it is.
    ("2026-03-29 14:00 CET", "Europe/Berlin",
     "CET is not the abbreviation of Europe/Berlin at that time (CEST, +02:00), the zone "
     "times are printed and read in; CET is UTC+01:00: write 2026-03-29T14:00+01:00 for "
     "that time, or give the --display-tz of the zone it was printed in"),
    # Printed in Berlin, pasted where times are printed in UTC: the advice was the
    # display zone's offset, 2026-03-29T14:00+00:00, two hours from the time meant.
    ("2026-03-29 14:00 CEST", "UTC",
     "CEST is not the abbreviation of UTC at that time (UTC, +00:00), the zone times are "
     "printed and read in; CEST is UTC+02:00: write 2026-03-29T14:00+02:00 for that time, "
     "or give the --display-tz of the zone it was printed in"),
    # EDT pasted in Berlin: the advice was Berlin's +02:00, six hours off.
    ("2026-03-29 14:00 EDT", "Europe/Berlin",
     "EDT is not the abbreviation of Europe/Berlin at that time (CEST, +02:00), the zone "
     "times are printed and read in; EDT is UTC-04:00: write 2026-03-29T14:00-04:00 for "
     "that time, or give the --display-tz of the zone it was printed in"),
    # An abbreviation of several zones: no offset is suggested.
    ("2026-03-29 14:00 IST", "Europe/Berlin",
     "IST is not the abbreviation of Europe/Berlin at that time (CEST, +02:00), the zone "
     "times are printed and read in; IST stands for India (+05:30), Ireland (+01:00) or "
     f"Israel (+02:00); {_ADVICE}"),
    ("2026-03-29 02:30 CET", "Europe/Berlin",
     "that time does not exist in Europe/Berlin, the zone times are printed and read in (the "
     "hour the clocks skip: from +01:00 to +02:00 there); CET is UTC+01:00: write "
     "2026-03-29T02:30+01:00 for that time, or give the --display-tz of the zone it was "
     "printed in"),
])
def test_a_zone_that_is_not_the_display_zone_s_then_is_refused(reports, capsys, start, zone,
                                                              said) -> None:
    assert main(["explain", str(reports), "--window", "Outlook", start,
                 "2026-03-29T16:00Z", "--display-tz", zone]) == 2
    assert capsys.readouterr().err == (
        f"spikes explain: error: explain: start {start!r}: {said}\n")
