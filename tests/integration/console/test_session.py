"""A browser session over HTTP: renewed while it is used, past its token's lifetime; ended
after the operator's idle time; not kept alive by what an open page asks by itself.
(The browser test `tests/browser/test_session_lifetime.py` lives it for minutes.)"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import jwt
import pytest
from fastapi.testclient import TestClient

from jobmanager.auth.tokens import Principal
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient

TTL, IDLE = 60, 300


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"token_ttl_seconds": TTL, "session_idle_seconds": IDLE})


def use_session(
    client: TestClient, services: Services, tenant: TenantClient, age: float, session: bool = True
) -> str:
    """Cookies of a session whose token was issued (last renewed) `age` seconds ago."""
    principal = Principal(tenant.name, tenant.client_id)
    issued = services.tokens.issue(principal, now=time.time() - age, session=session)
    client.cookies.clear()
    client.cookies.set("SESSION", issued.access_token)
    client.cookies.set("XSRF-TOKEN", "the-pages-token")
    return issued.access_token


def set_cookies(answer_headers: list[tuple[str, str]]) -> dict[str, SimpleCookie]:
    jar: dict[str, SimpleCookie] = {}
    for name, value in answer_headers:
        if name.lower() == "set-cookie":
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(value)
            jar.update({key: cookie for key in cookie})
    return jar


def test_a_session_in_use_is_renewed_past_its_tokens_lifetime(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    old = use_session(idle_client, services, tenant, age=TTL + 100)  # expired, not idle
    answer = idle_client.get("/jobs")
    assert answer.status_code == 200
    renewed = set_cookies(answer.headers.multi_items())
    token = renewed["SESSION"]["SESSION"]
    assert token.value != old and token["max-age"] == str(IDLE) and token["httponly"]
    claims = jwt.decode(token.value, options={"verify_signature": False})
    assert claims["ses"] is True and abs(claims["iat"] - time.time()) < 5
    assert claims["exp"] - claims["iat"] == TTL
    assert renewed["XSRF-TOKEN"]["XSRF-TOKEN"].value == "the-pages-token"  # open pages keep it

    # The API's calls with the cookie (a page's downloads and uploads) renew it too.
    use_session(idle_client, services, tenant, age=TTL + 100)
    listed = idle_client.get("/api/jobmanager/v3/jobs")
    assert listed.status_code == 200 and "SESSION" in set_cookies(listed.headers.multi_items())


def test_what_an_open_page_asks_by_itself_does_not_keep_a_session_alive(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    use_session(idle_client, services, tenant, age=100)
    poll = idle_client.get("/jobs/rows", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "set-cookie" not in poll.headers
    stream = idle_client.get("/api/jobmanager/v3/jobs", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 200 and "set-cookie" not in stream.headers


def test_an_idle_session_ends_and_a_bearer_token_keeps_its_expiry(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    use_session(idle_client, services, tenant, age=IDLE + 5)
    answer = idle_client.get("/jobs")
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin?next=/jobs")
    api = idle_client.get("/api/jobmanager/v3/jobs")
    assert api.status_code == 401
    assert api.json()["errors"][0]["message"] == (
        f"the session has ended: it was not used for {IDLE} s"
    )

    # A session's token is no longer good as a bearer token once past its `exp`,
    expired = use_session(idle_client, services, tenant, age=TTL + 100)
    idle_client.cookies.clear()
    bearer = idle_client.get(
        "/api/jobmanager/v3/jobs", headers={"Authorization": f"Bearer {expired}"}
    )
    assert bearer.status_code == 401 and "expired" in bearer.text
    # and a cookie token that is not a session's (an older service's) lives to its `exp`.
    use_session(idle_client, services, tenant, age=TTL + 100, session=False)
    assert idle_client.get("/jobs").status_code == 303
