"""A zone for the routes of ``--notify URL`` (``--notify-tz``, analyze and serve), and
each route's ``tz`` in ``GET /v1/notifications``.

``--notify-tz`` is read as a ``tz`` of ``[[notify]]`` is read; it sets the zone of the
command line's routes only, and ``SPIKES_DISPLAY_TZ`` (the zone of whoever runs the
command) never sets a route's zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikes.alerts.routing import notify_zone, routes_from_urls
from spikes.cli import build_parser, main
from spikes.errors import SpikesInputError
from tests.receivers import Webhook
from tests.test_service import Service

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"
TOKEN = "test-token-0123456789"
BAD_ZONE = ("--notify-tz: unknown time zone 'Mars/Olympus': expected an IANA name such as "
            "America/New_York or UTC, or an offset such as UTC+01:00")


# --- the option is read as tz is --------------------------------------------------------
def test_routes_from_urls_take_the_zone_of_notify_tz() -> None:
    urls = ["http://h/a", "slack+https://h/b"]
    assert [r.tz for r in routes_from_urls(urls, tz="europe/berlin")] == \
        ["Europe/Berlin", "Europe/Berlin"]
    assert [r.tz for r in routes_from_urls(urls, tz="UTC+01:00")] == ["Etc/GMT-1"] * 2
    assert [r.tz for r in routes_from_urls(urls, tz="Etc/Zulu")] == ["UTC"] * 2
    assert [r.tz for r in routes_from_urls(urls)] == ["UTC"] * 2


@pytest.mark.parametrize(("value", "error"), [
    ("Mars/Olympus", BAD_ZONE),
    ("UTC+30", "--notify-tz: unknown time zone 'UTC+30': an offset of more than 14 hours"),
    (" ", "--notify-tz: expected a time zone such as Europe/Berlin or UTC+01:00, got ' '"),
])
def test_a_notify_tz_naming_no_zone_is_one_error_naming_the_option(value: str,
                                                                    error: str) -> None:
    with pytest.raises(SpikesInputError) as caught:
        notify_zone(value)
    assert str(caught.value).startswith(error)
    assert "\n" not in str(caught.value)


def test_a_bad_notify_tz_stops_analyze_before_it_runs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--notify", "http://127.0.0.1:9/",
                 "--notify-tz", "Mars/Olympus"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"spikes analyze: error: {BAD_ZONE}"
    assert captured.out == ""
    assert not out.exists()


def test_notify_tz_without_notify_url_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "incidents.csv"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "--notify-tz", "Europe/Berlin"]) == 2
    assert capsys.readouterr().err.strip() == (
        "spikes analyze: error: --notify-tz sets the zone of the --notify URL routes: give "
        "--notify URL (a [[notify]] table has its own tz)")
    assert not out.exists()


def test_a_bad_notify_tz_stops_serve_before_it_starts(tmp_path: Path, capsys) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    store = tmp_path / "spikes.duckdb"
    assert main(["serve", "--store", str(store), "--token-file", str(token),
                 "--notify", "http://127.0.0.1:9/", "--notify-tz", "Mars/Olympus"]) == 2
    assert capsys.readouterr().err.strip() == f"spikes serve: error: {BAD_ZONE}"
    assert not store.exists()


@pytest.mark.parametrize("command", ["analyze", "serve"])
def test_the_help_says_whose_zone_it_is(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--notify-tz ZONE" in text
    help_text = text[text.index("--notify-tz ZONE time zone"):]
    assert "--notify URL routes" in help_text[:200]
    assert "a [[notify]] table of --config has its own tz" in help_text[:400]
    assert "SPIKES_DISPLAY_TZ does not apply" in help_text[:500]


# --- a delivered text in the zone, through the command line -----------------------------
def test_analyze_sends_slack_text_in_the_notify_tz_json_in_utc(tmp_path: Path, capsys,
                                                               monkeypatch) -> None:
    # Whoever runs it reads New York time: their zone is not the recipients'.
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "America/New_York")
    with Webhook() as hook:
        assert main(["analyze", str(SAMPLE), "--notify", f"slack+{hook.url}/slack",
                     "--notify", f"{hook.url}/json", "--notify-tz", "europe/berlin"]) == 0
        slack = hook.received("/slack")
        plain = hook.received("/json")
    capsys.readouterr()
    assert len(slack) == len(plain) > 0
    (text,) = [m["text"] for m in slack
               if m["text"].startswith("[spikes] E0010 resolved (critical): Outlook")]
    lines = text.split("\n")
    assert lines[0] == ("[spikes] E0010 resolved (critical): Outlook, Exchange Online, "
                        "Microsoft Store, Microsoft Defender, Microsoft Purview, over since "
                        "2026-01-22 23:40 CET")
    assert lines[1].startswith("- Outlook: 1,391 reports in 5 min against 14.4 usual on a "
                               "Thursday at 21:10 CET (96x, p &lt; 1e-30); started 20:00, "
                               "raised 20:10; top problem ")
    assert lines[1].endswith("(critical), over 23:40 CET")
    assert lines[-1].endswith(" at 2026-01-23T00:50:00+01:00")
    assert all(" UTC" not in m["text"] and " EST" not in m["text"] for m in slack)
    # The JSON webhook of the same run gets the message itself, in UTC.
    (resolved,) = [m for m in plain if m["event_id"] == "E0010" and m["state"] == "resolved"]
    assert resolved["at"] == "2026-01-22T23:50:00+00:00"
    assert resolved["title"].endswith("over since 2026-01-22 22:40 UTC")


def test_without_notify_tz_the_display_zone_does_not_reach_the_text(tmp_path: Path, capsys,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("SPIKES_DISPLAY_TZ", "Europe/Berlin")
    with Webhook() as hook:
        assert main(["analyze", str(SAMPLE), "--notify", f"slack+{hook.url}/slack"]) == 0
        slack = hook.received("/slack")
    printed = capsys.readouterr().out
    assert " CET " in printed  # what is printed is in the display zone ...
    (text,) = [m["text"] for m in slack
               if m["text"].startswith("[spikes] E0010 resolved (critical): Outlook")]
    # ... the messages are not.
    assert text.split("\n")[0].endswith("over since 2026-01-22 22:40 UTC")
    assert all(" CET" not in m["text"] for m in slack)


# --- GET /v1/notifications --------------------------------------------------------------
def _notification_routes(tmp_path: Path, routes: str, *args: str) -> tuple[list[dict], str]:
    """``GET /v1/notifications``'s routes of a service started with the [[notify]]
    `routes` (``{url}`` is the webhook's address) and the options `args` (``{url}``
    likewise), and the webhook's address."""
    token = tmp_path / "token"
    token.write_text(TOKEN)
    config = tmp_path / "spikes.toml"
    with Webhook() as hook:
        config.write_text(routes.replace("{url}", hook.url))
        service = Service(tmp_path / "spikes.duckdb", token, "--config", str(config),
                          *(a.replace("{url}", hook.url) for a in args))
        try:
            answer = service.client.get("/v1/notifications")
        finally:
            service.stop()
    assert answer.status_code == 200, answer.text
    return answer.json()["routes"], hook.url


def test_notifications_list_the_tz_of_config_routes(tmp_path: Path) -> None:
    routes, _ = _notification_routes(
        tmp_path, '[[notify]]\nname = "berlin"\nurl = "slack+{url}/b"\ntz = "europe/berlin"\n'
        '[[notify]]\nname = "plus-one"\nurl = "slack+{url}/o"\ntz = "UTC+01:00"\n'
        '[[notify]]\nname = "plain"\nurl = "{url}/p"\n')
    assert [{k: r.get(k) for k in ("route", "tz")} for r in routes] == [
        {"route": "berlin", "tz": "Europe/Berlin"}, {"route": "plus-one", "tz": "Etc/GMT-1"},
        {"route": "plain", "tz": "UTC"}]


def test_notifications_list_the_tz_of_notify_tz_routes(tmp_path: Path) -> None:
    routes, url = _notification_routes(
        tmp_path, '[[notify]]\nname = "berlin"\nurl = "slack+{url}/b"\ntz = "europe/berlin"\n'
        '[[notify]]\nname = "plain"\nurl = "{url}/p"\n',
        "--clock", "data", "--notify", "slack+{url}/cli", "--notify-tz", "Asia/Tokyo")
    assert [r["tz"] for r in routes] == ["Europe/Berlin", "UTC", "Asia/Tokyo"]
    assert [r["route"] for r in routes][:2] == ["berlin", "plain"]
    assert routes[2]["route"].startswith(f"slack+{url}")  # the --notify route
    assert set(routes[0]) == {"route", "products", "min_severity", "known_events", "tz"}


def test_the_openapi_text_of_notifications_names_the_tz_field(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    service = Service(tmp_path / "spikes.duckdb", token)
    try:
        schema = service.client.get("/openapi.json").json()
    finally:
        service.stop()
    description = " ".join(schema["paths"]["/v1/notifications"]["get"]["description"]
                           .split())
    assert "``min_severity``, ``known_events`` and ``tz``, the zone of the times of its " \
           "Slack, e-mail and apprise texts" in description
