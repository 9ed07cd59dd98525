"""No input gets a 5xx: random paths under every route, random methods, headers and bodies;
every error is RFC 9457 problem details."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from tests.passport.conftest import Service

SEGMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=24
) | st.sampled_from(
    [
        "urn:bpl:passport:00000000-0000-4000-8000-000000000000",
        "sha256:" + "0" * 64,
        "09506000134352",
        "000",
        "x001",
        "000.p",
        "%2F",
        "%00",
        "..",
        "21",
        "10",
    ]
)
TEMPLATES = st.sampled_from(
    [
        "/passports/{}",
        "/passports/{}/records",
        "/passports/{}/verify",
        "/records/{}",
        "/records",
        "/records/batch",
        "/models/{}",
        "/log/tile/{}/{}",
        "/log/tile/entries/{}",
        "/log/checkpoint",
        "/01/{}/21/{}",
        "/01/{}",
        "/8004/{}",
        "/00/{}",
        "/{}/{}",
        "/.well-known/gs1resolver",
    ]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.binary(max_size=256) | JSONISH.map(lambda v: json.dumps(v).encode()) | st.just(b"")
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(
            ["*/*", "text/html", "application/json;q=0", "image/png", ";;", "a/b;q=x", ""]
        ),
        "Authorization": st.sampled_from(
            ["Bearer ", "Bearer x", "Basic a", "bearer bpl_" + "A" * 43]
        ),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "", "x"]),
    },
)


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE"]),
    template=TEMPLATES,
    segments=st.lists(SEGMENT, min_size=2, max_size=2),
    query=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3),
    body=BODIES,
    headers=HEADERS,
)
def test_no_input_gets_a_5xx(
    sqlite_service: Service,
    method: str,
    template: str,
    segments: list[str],
    query: list[tuple[str, str]],
    body: bytes,
    headers: dict[str, str],
) -> None:
    path = template.format(*segments[: template.count("{}")])
    try:
        request = sqlite_service.client.build_request(
            method, path, params=query, content=body or None, headers=headers
        )
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
        assume(False)
        return
    response = sqlite_service.client.send(request, follow_redirects=False)
    event(f"{method} {template} -> {response.status_code}")
    assert response.status_code < 500, (method, path, response.text)
    if response.status_code >= 400 and method != "HEAD":
        assert response.headers["content-type"] == "application/problem+json", response.text
        problem = response.json()
        assert problem["status"] == response.status_code
        assert {"type", "title", "detail"} <= set(problem)
