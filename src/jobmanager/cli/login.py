"""`jobmanager login`, and where every client command finds its server and credentials.

Order, per value: the environment (`JOBMANAGER_URL`, `JOBMANAGER_CLIENT_ID`,
`JOBMANAGER_CLIENT_SECRET`), then what `login` saved in
`$XDG_CONFIG_HOME/jobmanager/credentials.json` (default `~/.config/...`, mode 0600),
then the dev credentials of a local embedded server (the home: `$JOBMANAGER_HOME`, else
the user's data folder; file `dev-credentials.json`).

With no server configured (neither the environment nor a login names credentials), a
command uses the local service of the home (`cli/local_service.py`): the one running,
else a `jobmanager serve` of the home answering at its dev credentials' URL, else a local
service started for it, which stays up for the next command.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from jobmanager.cli.common import cli_home, errors
from jobmanager.cli.output import error, reported, say
from jobmanager.client import Client
from jobmanager.common.home import dev_credentials_file, local_service_token, write_private

DEFAULT_URL = "http://127.0.0.1:8080"
LOCAL_SERVICE = "local service"  # a profile's source: the home's local service


@dataclass(frozen=True)
class Profile:
    """Where to connect and as whom; `source` says where the credentials came from."""

    url: str
    client_id: str
    client_secret: str
    source: str


def config_folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jobmanager"


def credentials_path() -> Path:
    return config_folder() / "credentials.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def saved_profile() -> dict[str, Any]:
    return _read(credentials_path())


def dev_profile() -> dict[str, Any]:
    return _read(dev_credentials_file(cli_home()))


def load_profile() -> Profile | None:
    """The profile from the environment, the saved login and the dev credentials; None when
    no client id and secret are known."""
    sources = [
        ("environment", _environment()),
        ("login", saved_profile()),
        ("dev credentials", dev_profile()),
    ]
    values: dict[str, str] = {}
    origin = ""
    for name, document in sources:
        for key in ("url", "clientId", "clientSecret"):
            if document.get(key) and key not in values:
                values[key] = str(document[key])
                if key == "clientId":
                    origin = name
    if "clientId" not in values or "clientSecret" not in values:
        return None
    return Profile(
        values.get("url", DEFAULT_URL), values["clientId"], values["clientSecret"], origin
    )


def _environment() -> dict[str, str]:
    names = {"url": "JOBMANAGER_URL", "clientId": "JOBMANAGER_CLIENT_ID"}
    names["clientSecret"] = "JOBMANAGER_CLIENT_SECRET"
    return {key: os.environ[name] for key, name in names.items() if os.environ.get(name)}


def require_profile() -> Profile:
    """The configured server, else the local service of the home (started if need be)."""
    profile = load_profile()
    if profile is not None and profile.source != "dev credentials":
        return profile
    from jobmanager.cli import local_service

    home = cli_home()
    found = local_service.find(home)
    if found is None and profile is not None and local_service.answers(profile.url):
        return profile  # a `jobmanager serve` of this home, run by hand
    if found is None:
        try:
            found, started = local_service.ensure(home)
        except local_service.LocalServiceError as problem:
            error(str(problem), "Or configure a server with `jobmanager login`")
        if started:
            errors.print(
                f"started a local jobmanager service (pid {found.pid}) at {found.url} "
                f"(home {home}); it stops when idle, or with `jobmanager serve --stop`",
                soft_wrap=True,
                highlight=False,
            )
    document = found.credentials_document()
    return Profile(found.url, document["clientId"], document["clientSecret"], LOCAL_SERVICE)


@contextmanager
def session(profile: Profile | None = None) -> Iterator[Client]:
    """A client for the configured server; its errors become one-line messages."""
    profile = profile or require_profile()
    with reported(profile.url):
        try:
            client = Client(profile.url, profile.client_id, profile.client_secret)
        except ValueError as problem:
            error(str(problem), "Fix it with `jobmanager login --url`")
        local = profile.source == LOCAL_SERVICE
        kept = local_service_token(cli_home()) if local else None
        with client, _kept_token(client, kept):
            yield client


@contextmanager
def _kept_token(client: Client, path: Path | None) -> Iterator[None]:
    """Reuse the token the last command got from the local service, and keep this one's."""
    if path is None:
        yield
        return
    known = _read(path)
    if known.get("url") == client.url and known.get("clientId") == client.client_id:
        with suppress(KeyError, TypeError, ValueError):
            client.adopt_token(str(known["accessToken"]), float(known["expiresAt"]))
    try:
        yield
    finally:
        held = client.held_token()
        if held is not None and held[0] != known.get("accessToken"):
            document = {"url": client.url, "clientId": client.client_id}
            with suppress(OSError):
                write_private(path, {**document, "accessToken": held[0], "expiresAt": held[1]})


def save_profile(url: str, client_id: str, client_secret: str) -> Path:
    """Write the credentials file, readable by the user only."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, {"url": url, "clientId": client_id, "clientSecret": client_secret})
    return path


def login(
    url: Annotated[str | None, typer.Option(help="The server's base URL")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="Client id")] = None,
    client_secret: Annotated[
        str | None, typer.Option("--client-secret", help="Client secret (prompted if missing)")
    ] = None,
) -> None:
    """Check credentials against a server and save them for the other commands."""
    known = load_profile()
    default_url = known.url if known else DEFAULT_URL
    url = url or typer.prompt("Server URL", default=default_url)
    client_id = client_id or typer.prompt("Client id")
    client_secret = client_secret or typer.prompt("Client secret", hide_input=True)
    profile = Profile(url.strip().rstrip("/"), client_id, client_secret, "login")
    with session(profile) as api:
        api.token()
    path = save_profile(profile.url, client_id, client_secret)
    say(f"logged in to {profile.url} as {client_id}; credentials saved in {path}")
