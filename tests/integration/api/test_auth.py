"""Authentication through HTTP (SPEC §5): tokens, keys, and every way a caller can get it wrong."""

from __future__ import annotations

import base64
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from jobmanager.auth.tokens import Principal
from jobmanager.startup.services import Services
from tests.conftest import TenantClient, assert_error, basic

ME = "/api/identity/v1/me"


def test_client_credentials_token_reaches_an_authenticated_route(
    client: TestClient, tenant_a: TenantClient
) -> None:
    answer = client.get(ME, headers=tenant_a.headers)
    assert answer.status_code == 200
    assert answer.json() == {"tenant": "tenant-a", "clientId": tenant_a.client_id}


def test_token_answer_and_claims(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)},
    )
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["ten"] == "tenant-a"
    assert claims["client_id"] == tenant_a.client_id
    assert claims["exp"] - claims["iat"] == 1800
    assert "jobm.jobs.read" in claims["scope"]


def test_first_token_key_verifies_tokens(client: TestClient, tenant_a: TenantClient) -> None:
    keys = client.get("/token_keys").json()["keys"]
    first = keys[0]
    assert first["alg"] == "RS256"
    header = jwt.get_unverified_header(tenant_a.token)
    assert header["kid"] == first["kid"]
    claims = jwt.decode(tenant_a.token, first["value"], algorithms=["RS256"])
    assert claims["ten"] == "tenant-a"


def test_technical_token_manager_issues_a_token(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/api/technicaltokenmanager/v3/oauth/token",
        json={"appName": "app", "appVersion": "1.0.0", "hostTenant": "a", "userTenant": "a"},
        headers={"X-SPACE-AUTH-KEY": basic(tenant_a.client_id, tenant_a.client_secret)},
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
    ],
    ids=["missing", "empty-bearer", "wrong-scheme", "garbage", "bad-segments"],
)
def test_missing_or_malformed_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    error = assert_error(client.get(ME, headers=headers), 401)
    assert error["code"] == "jobmanager.unauthorized"


def test_expired_token_is_401(
    client: TestClient, services: Services, tenant_a: TenantClient
) -> None:
    old = services.tokens.issue(Principal("tenant-a", tenant_a.client_id), now=time.time() - 7200)
    error = assert_error(
        client.get(ME, headers={"Authorization": f"Bearer {old.access_token}"}), 401
    )
    assert "expired" in error["message"]


def test_forged_token_signed_by_another_key_is_401(
    client: TestClient, services: Services, tenant_a: TenantClient
) -> None:
    claims = jwt.decode(tenant_a.token, options={"verify_signature": False})
    claims["ten"] = "tenant-b"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = services.tokens.keys.current.kid
    forged = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})
    assert_error(client.get(ME, headers={"Authorization": f"Bearer {forged}"}), 401)


def test_token_with_hs256_using_the_public_key_is_401(
    client: TestClient, services: Services, tenant_a: TenantClient
) -> None:
    """The classic algorithm-confusion forgery must not verify."""
    claims = jwt.decode(tenant_a.token, options={"verify_signature": False})
    _header, payload, _ = tenant_a.token.split(".")
    import hashlib
    import hmac

    secret = services.tokens.keys.current.public_pem
    forged_header = base64.urlsafe_b64encode(
        b'{"alg":"HS256","kid":"' + services.tokens.keys.current.kid.encode() + b'"}'
    ).rstrip(b"=")
    signing_input = forged_header + b"." + payload.encode()
    signature = base64.urlsafe_b64encode(
        hmac.new(secret, signing_input, hashlib.sha256).digest()
    ).rstrip(b"=")
    forged = (signing_input + b"." + signature).decode()
    assert claims["ten"] == "tenant-a"
    assert_error(client.get(ME, headers={"Authorization": f"Bearer {forged}"}), 401)


def test_tampered_payload_is_401(client: TestClient, tenant_a: TenantClient) -> None:
    header, _payload, signature = tenant_a.token.split(".")
    claims = jwt.decode(tenant_a.token, options={"verify_signature": False})
    claims["ten"] = "tenant-b"
    import json

    new_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{new_payload}.{signature}"
    assert_error(client.get(ME, headers={"Authorization": f"Bearer {tampered}"}), 401)


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_wrong_client_secret_is_401(
    client: TestClient, tenant_a: TenantClient, secret: str
) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(tenant_a.client_id, secret)},
    )
    assert_error(answer, 401)


def test_unknown_client_is_401(client: TestClient) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic("nobody", "secret")},
    )
    assert_error(answer, 401)


def test_wrong_grant_type_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "password"},
        headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)},
    )
    assert_error(answer, 400)


def test_missing_grant_type_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/oauth/token", headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)}
    )
    error = assert_error(answer, 400)
    assert "grant_type" in error["message"]


def test_revoked_credentials_stop_working(
    client: TestClient, services: Services, tenant_a: TenantClient
) -> None:
    client.app.state.active_clients.ttl = 0  # type: ignore[attr-defined]
    services.store.tenants.revoke_credentials(tenant_a.client_id)
    assert_error(client.get(ME, headers=tenant_a.headers), 401)
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)},
    )
    assert_error(answer, 401)


def test_session_cookie_authenticates_reads(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/session", headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)}
    )
    assert answer.status_code == 204
    assert client.cookies.get("SESSION")
    assert client.cookies.get("XSRF-TOKEN")
    assert client.get(ME).json()["tenant"] == "tenant-a"


def test_each_error_logref_is_in_the_server_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="jobmanager.api"):
        error = assert_error(client.get(ME), 401)
    assert any(error["logref"] in record.getMessage() for record in caplog.records)
