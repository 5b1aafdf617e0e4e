"""`jobmanager login` and where the CLI finds its server: saved login, environment, dev
credentials; and the one-line errors for a server that is down or refuses the secret."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess, free_port

server = module_server()


def test_not_logged_in_uses_the_local_service_of_the_home(tmp_path: Path) -> None:
    result = Cli(tmp_path)("jobs", "list").assert_ok()
    assert f"(home {tmp_path / '.jobmanager'})" in result.stderr
    assert result.stdout.strip() == "no jobs"


def test_login_saves_credentials_readable_by_the_user_only(
    tmp_path: Path, server: ServerProcess
) -> None:
    cli = Cli(tmp_path)
    credentials = server.dev_credentials()
    cli(
        "login",
        "--url",
        server.url,
        "--client-id",
        credentials["clientId"],
        "--client-secret",
        credentials["clientSecret"],
    ).assert_ok()
    saved = tmp_path / "config" / "jobmanager" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert credentials["clientSecret"] in saved.read_text()
    assert cli("configs", "list", "--json").assert_ok().json() == []
    # The environment overrides the saved login.
    cli("jobs", "list", JOBMANAGER_CLIENT_SECRET="wrong").assert_one_line_error(
        "refused the credentials", "jobmanager login"
    )


def test_login_prompts_for_what_is_missing(tmp_path: Path, server: ServerProcess) -> None:
    credentials = server.dev_credentials()
    cli = Cli(tmp_path)
    answers = f"{credentials['clientId']}\n{credentials['clientSecret']}\n"
    cli("login", "--url", server.url, input=answers).assert_ok()
    assert cli("jobs", "list", "--json").assert_ok().json() == []


def test_bad_secret_is_one_clear_line(tmp_path: Path, server: ServerProcess) -> None:
    result = Cli(tmp_path)("login", "--url", server.url, "--client-id", "x", "--client-secret", "y")
    result.assert_one_line_error("refused the credentials", "wrong secret")
    assert not (tmp_path / "config" / "jobmanager" / "credentials.json").exists()


def test_server_down_is_one_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    cli = Cli(tmp_path, {"JOBMANAGER_URL": url, "JOBMANAGER_CLIENT_ID": "a"})
    result = cli("models", "list", JOBMANAGER_CLIENT_SECRET="b")
    result.assert_one_line_error(url, "cannot reach", "jobmanager serve")


def test_dev_credentials_of_a_local_server_are_used(tmp_path: Path, server: ServerProcess) -> None:
    home = tmp_path / ".jobmanager"
    home.mkdir()
    shutil.copy(server.home / "dev-credentials.json", home / "dev-credentials.json")
    cli = Cli(tmp_path)
    assert cli("jobs", "list", "--json").assert_ok().json() == []
