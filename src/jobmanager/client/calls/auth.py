"""`POST /oauth/token`: a bearer token for a client id and secret."""

from __future__ import annotations

import base64

from jobmanager.client.call import Call, parse_as
from jobmanager.client.types import Token


def token(client_id: str, client_secret: str) -> Call[Token]:
    """A new access token (client credentials grant, id and secret in HTTP Basic)."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return Call(
        "POST",
        "/oauth/token",
        parse_as(Token),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        authenticated=False,
    )
