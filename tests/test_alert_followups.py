"""Follow-ups of the alerts and the live service (each test failed before its fix): the
operational endpoints refuse unknown query parameters as the ``/v1`` ones do, ..."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.test_service import TOKEN, Service, service


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One real `spikes serve --clock data` on loopback for the checks of its endpoints."""
    folder = tmp_path_factory.mktemp("followups")
    token = folder / "token"
    token.write_text(TOKEN)
    with service(folder, token) as running:
        yield running


def test_every_endpoint_refuses_an_unknown_query_parameter_naming_those_it_takes(
        svc: Service) -> None:
    # /healthz?verbose=1 and /metrics?format=json answered 200 as if the parameter did
    # something; the /v1 endpoints said 422 with Python lists (['sinse']).
    for path, params, takes in (("/healthz", {"verbose": "1"}, "none"),
                                ("/metrics", {"format": "json"}, "none"),
                                ("/v1/status", {"product": "Slack"}, "none"),
                                ("/v1/incidents", {"sinse": "2026-01-05"},
                                 "open, product, since")):
        answer = svc.client.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        (name,) = params
        assert answer.json() == {"detail": f"unknown query parameter {name}: this "
                                           f"endpoint takes {takes}"}
    # Without the token too (the operational endpoints take none), and with two.
    both = httpx.get(f"{svc.url}/healthz", params={"a": "1", "b": "2"})
    assert both.status_code == 422
    assert both.json()["detail"] == "unknown query parameters a, b: this endpoint takes none"
    assert svc.client.get("/healthz").status_code == 200
    assert svc.client.get("/metrics").status_code == 200
    assert svc.client.get("/v1/incidents", params={"open": "true"}).status_code == 200
