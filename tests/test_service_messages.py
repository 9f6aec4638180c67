"""What the live service tells an HTTP client (F17, F18): the key a one-report body of
counts is known by, a CSV body's error without the command line's flags, a query
parameter of the wrong type as one line, and one an endpoint does not take (``/healthz``
and ``/metrics`` too) as one line naming those it takes. One real `spikes serve` process
serves all the checks (tests/test_service.py's helper)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.test_service import TOKEN, Service, service

COUNTS = {"kind": "counts", "reports": [
    {"product": "Zoom", "timestamp": "2026-01-05T00:00:00Z", "count": 12}]}


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One `spikes serve --clock data` for every check of this module."""
    folder = tmp_path_factory.mktemp("messages")
    token = folder / "token"
    token.write_text(TOKEN)
    with service(folder, token) as running:
        yield running


# --- F17 -------------------------------------------------------------------------------
def test_a_one_report_body_of_counts_is_known_by_its_hash(svc: Service) -> None:
    # Sent again, it is a duplicate: the OpenAPI text said a one-report body without a
    # batch_id is new every time.
    first = svc.client.post("/v1/reports", json=COUNTS).json()
    again = svc.client.post("/v1/reports", json=COUNTS).json()
    assert first["batch_id"].startswith("sha256:") and first["accepted"] == 1
    assert again == {**first, "accepted": 0, "duplicates": 1}


def test_the_openapi_text_says_a_body_of_counts_is_known_by_its_hash(svc: Service) -> None:
    schema = svc.client.get("/openapi.json").text
    assert "is known by its hash when it holds two or more reports or is of kind counts" \
        in schema
    assert "a JSON body of dated reports: two or more, or counts" in schema
    assert "(one report event, or reports stamped on arrival) is new every time" in schema


# --- F18 -------------------------------------------------------------------------------
def test_a_bad_csv_body_is_told_what_to_change_in_the_body(svc: Service) -> None:
    # It ended "or pass --timestamp-col", a flag an HTTP client does not have.
    bad = svc.client.post("/v1/reports", content=b"when,what\nfoo,bar\n",
                          headers={"Content-Type": "text/csv"})
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert detail.startswith("no timestamp column in the CSV body: columns found: "
                             "'when', 'what'; expected one named timestamp/time/")
    assert detail.endswith(": give the body's timestamp column one of these names "
                           "(the service takes no column options)")
    assert "--" not in detail and "body.csv" not in detail


def test_a_query_parameter_of_the_wrong_type_is_one_line(svc: Service) -> None:
    # It was pydantic's raw structure (type, loc, msg, input, ctx).
    since = svc.client.get("/v1/incidents", params={"since": "yesterday"})
    assert since.status_code == 422
    assert since.json() == {"detail": "query parameter since: 'yesterday' is not a time "
                                      "(expected ISO-8601 such as 2026-01-22T19:00:00Z "
                                      "or 2026-01-22)"}
    both = svc.client.get("/v1/incidents", params={"since": "", "open": "maybe"})
    assert both.json()["detail"].endswith("; query parameter open: 'maybe' is not true "
                                          "or false")
    unknown = svc.client.get("/v1/incidents", params={"sinse": "2026-01-05"})
    assert unknown.status_code == 422 and isinstance(unknown.json()["detail"], str)
    assert svc.client.get("/v1/incidents", params={"since": "2026-01-05"}).status_code == 200


@pytest.mark.parametrize(("message", "expected"), [
    ("--format long needs a count column in 'body.csv': columns found: 'a'; expected one "
     "named reports/count, or pass --count-col NAME",
     "needs a count column in the CSV body: columns found: 'a'; expected one named "
     "reports/count: give the body's count column one of these names"),
    ("column 'x' of 'body.csv' is not numeric: read as a wide file; pass --product-col, "
     "--count-col, --product NAME or --format to say how to read it",
     "column 'x' of the CSV body is not numeric: read as a wide file; name its columns as "
     "the reader knows them, e.g. timestamp,product,reports"),
    ("'body.csv' has only a timestamp column (ts): pass --product NAME to count each row "
     "as one report of that product",
     "the CSV body has only a timestamp column (ts): add a product column, e.g. "
     "timestamp,product"),
    ("times 14 hours apart, which no zone has: pass --tz with the zone of its times",
     "(the options named are those of the command line; the service reads a CSV body "
     "with none: change the body instead)"),
])
def test_a_csv_body_message_names_no_flag_of_the_command_line(message, expected) -> None:
    from spikes.service.messages import csv_body_message

    assert expected in csv_body_message(message)


def test_a_query_error_of_another_type_keeps_pydantic_words() -> None:
    from spikes.service.messages import query_message

    text = query_message([{"type": "string_too_long", "loc": ("query", "product"),
                           "msg": "String should have at most 200 characters",
                           "input": "x"}])
    assert text == ("query parameter product: 'x' is refused: string should have at most "
                    "200 characters")


def test_every_endpoint_refuses_an_unknown_query_parameter_naming_those_it_takes(
        svc: Service) -> None:
    # /healthz?verbose=1 and /metrics?format=json answered 200 as if the parameter did
    # something; the /v1 endpoints said 422 with Python lists (['sinse']) and "takes
    # ['open', 'product', 'since']".
    for path, params, takes in (("/healthz", {"verbose": "1"}, "none"),
                                ("/metrics", {"format": "json"}, "none"),
                                ("/v1/status", {"product": "Slack"}, "none"),
                                ("/v1/incidents", {"sinse": "2026-01-05"},
                                 "open, product, since")):
        answer = svc.client.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        (name,) = params
        assert answer.json() == {"detail": f"unknown query parameter {name!r}: this "
                                           f"endpoint takes {takes}"}
    # Without the token too (the operational endpoints take none), and with two.
    both = httpx.get(f"{svc.url}/healthz", params={"a": "1", "b": "2"})
    assert both.status_code == 422
    assert both.json()["detail"] == ("unknown query parameters 'a', 'b': this endpoint "
                                     "takes none")
    assert svc.client.get("/healthz").status_code == 200
    assert svc.client.get("/metrics").status_code == 200
    assert svc.client.get("/v1/incidents", params={"open": "true"}).status_code == 200


def test_a_body_not_sent_as_csv_or_json_is_refused_naming_the_types(svc: Service) -> None:
    csv = svc.client.post("/v1/reports", content="timestamp,product\n2026-01-05,A\n",
                          headers={"Content-Type": "text/plain"})
    assert csv.status_code == 415 and "text/csv" in csv.json()["detail"]


def test_the_docs_refuse_an_unknown_query_parameter_as_every_endpoint_does(
        svc: Service) -> None:
    # /docs?x=1, /redoc?x=1 and /openapi.json?x=1 answered 200 (FastAPI's own routes,
    # which the check of the others never saw), while /healthz?x=1 answered 422.
    for path in ("/docs", "/redoc", "/openapi.json", "/healthz"):
        answer = httpx.get(f"{svc.url}{path}", params={"x": "1"})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json() == {"detail": "unknown query parameter 'x': this endpoint "
                                           "takes none"}
    schema = httpx.get(f"{svc.url}/openapi.json")
    assert schema.json()["info"]["title"] == "spikes"
    # The API's schema lists the API, not the pages that show it.
    assert not {"/docs", "/redoc", "/openapi.json"} & set(schema.json()["paths"])
    for path in ("/docs", "/redoc"):
        page = httpx.get(f"{svc.url}{path}")
        assert page.status_code == 200 and "'/openapi.json'" in page.text.replace('"', "'")


def test_head_on_the_docs_answers_as_get_without_a_body(svc: Service) -> None:
    # FastAPI's own routes for them took HEAD as GET; as the app's own routes (for the
    # check of query parameters) they answered HEAD with 405.
    for path in ("/docs", "/redoc", "/openapi.json"):
        got = httpx.get(f"{svc.url}{path}")
        head = httpx.head(f"{svc.url}{path}")
        assert head.status_code == 200, (path, head.status_code)
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))
        refused = httpx.head(f"{svc.url}{path}", params={"x": "1"})
        assert refused.status_code == 422  # the query check applies to HEAD too
