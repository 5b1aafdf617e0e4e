"""`jobmanager run NOTEBOOK --input DIR`: the whole loop in one command.

Upload the notebook as a model (a new version when a model of that name exists),
upload the input folder, use a configuration (`--config`, else one named `default`,
created when missing), submit, watch, and download the outputs.

It runs against the configured server. When no credentials are configured, or only
a local embedded server's dev credentials exist and that server does not answer, it
starts an embedded server for the command (`jobmanager serve` on a free port, with
`./.jobmanager` as its home when that exists, else a temporary one) and stops it after.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer

from jobmanager.cli.common import errors
from jobmanager.cli.configurations import configuration_id
from jobmanager.cli.dataexchange import download_folder, upload_folder
from jobmanager.cli.jobs import (
    ParamOption,
    TimeoutOption,
    finish,
    parameters,
    watch_job,
)
from jobmanager.cli.login import Profile, load_profile, session
from jobmanager.cli.output import error, say, size
from jobmanager.client import Client, Job, Model
from jobmanager.client.folders import resolve_folder
from jobmanager.domain.names import name_from
from jobmanager.home import HOME_VARIABLE, dev_credentials_file, home_from_environment

DEFAULT_CONFIGURATION = "default"
START_TIMEOUT_SECONDS = 60.0
# The run's folder is `<notebook name>-<time>`: the name leaves room for the time.
RUN_NAME_BYTES = 200


def answers(url: str) -> bool:
    """True when a jobmanager server answers its health check at `url`."""
    try:
        return httpx.get(f"{url}/health", timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmbeddedServer:
    """A `jobmanager serve` subprocess for the length of one command."""

    def __init__(self, home: Path, temporary: bool) -> None:
        self.home = home
        self.temporary = temporary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Profile:
        self.home.mkdir(parents=True, exist_ok=True)
        # The embedded default, whatever JOBMANAGER_* settings this shell has for other servers.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
        env = {
            **inherited,
            HOME_VARIABLE: str(self.home.resolve()),
            "JOBMANAGER_HOST": "127.0.0.1",
            "JOBMANAGER_PORT": str(self.port),
        }
        log = (self.home / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobmanager", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        errors.print(
            f"started an embedded jobmanager server at {self.url} (home {self.home})",
            soft_wrap=True,
            highlight=False,
        )
        self._wait()
        document = json.loads(dev_credentials_file(self.home).read_text())
        return Profile(self.url, document["clientId"], document["clientSecret"], "embedded")

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                error(
                    f"the embedded server exited at start-up (code {self.process.returncode})",
                    f"See {self.home / 'serve.log'}",
                )
            if answers(self.url) and dev_credentials_file(self.home).exists():
                return
            time.sleep(0.2)
        self.stop()
        error("the embedded server did not start in time", f"See {self.home / 'serve.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.temporary:
            shutil.rmtree(self.home, ignore_errors=True)


def choose_server() -> tuple[Profile, EmbeddedServer | None]:
    """The configured server, or an embedded one when none is configured or answers."""
    profile = load_profile()
    if profile is not None and (profile.source != "dev credentials" or answers(profile.url)):
        return profile, None
    home = home_from_environment()
    if dev_credentials_file(home).exists():
        server = EmbeddedServer(home, temporary=False)
    else:
        server = EmbeddedServer(Path(tempfile.mkdtemp(prefix="jobmanager-run-")), temporary=True)
    return server.start(), server


def upload_model(api: Client, notebook: Path) -> Model:
    """A model named after the notebook (file name without extension): a new version of it
    when it exists, else a new model."""
    for model in api.iter_models({"name": notebook.stem}):
        if model.name == notebook.stem:
            api.create_version(model.id, notebook)
            return api.get_model(model.id)
    return api.create_model(notebook.stem, notebook, description="uploaded by jobmanager run")


def default_configuration(api: Client, name: str | None) -> str:
    if name is not None:
        return configuration_id(api, name)
    for configuration in api.iter_configurations():
        if configuration.name == DEFAULT_CONFIGURATION:
            return configuration.id
    made = api.create_configuration(
        DEFAULT_CONFIGURATION, description="made by `jobmanager run`: the service's own Python"
    )
    return made.id


def run_loop(
    api: Client,
    notebook: Path,
    input_dir: Path,
    output_dir: Path,
    config: str | None,
    timeout: int | None,
    values: dict[str, object] | None,
) -> Job:
    model = upload_model(api, notebook)
    say(f"model {model.name} ({model.id})")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    base = f"private/runs/{name_from(notebook.stem, RUN_NAME_BYTES)}-{stamp}"
    inputs = resolve_folder(api, f"{base}/input", create=True)
    outputs = resolve_folder(api, f"{base}/output", create=True)
    count, total = upload_folder(api, input_dir, inputs)
    say(f"uploaded {count} input files ({size(total)}) to {base}/input")
    job = api.submit_job(
        model.id,
        default_configuration(api, config),
        inputs.id,
        outputs.id,
        maximum_execution_time=timeout,
        parameters=values,
    )
    say(f"submitted job {job.id}")
    final = watch_job(api, job.id)
    count, total = download_folder(api, outputs, output_dir)
    say(f"downloaded {count} output files ({size(total)}) to {output_dir}")
    return final


def run(
    notebook: Annotated[Path, typer.Argument(help="The notebook: .zpln, note.json or .ipynb")],
    input_dir: Annotated[Path, typer.Option("--input", "-i", help="Local input folder")],
    output_dir: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where outputs go (default: NOTEBOOK-output)"),
    ] = None,
    param: ParamOption = None,
    timeout: TimeoutOption = None,
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Configuration id or name")
    ] = None,
) -> None:
    """Run a notebook on a local input folder and download its outputs.

    Exit code 0 succeeded, 1 failed, 2 stopped."""
    if not notebook.is_file():
        error(f"no such file: {notebook}", "Name the notebook to run")
    if not input_dir.is_dir():
        error(f"no such folder: {input_dir}", "--input names a local folder of input files")
    values = parameters(param)
    output_dir = output_dir or Path(f"{notebook.stem}-output")
    profile, server = choose_server()
    try:
        with session(profile) as api:
            final = run_loop(api, notebook, input_dir, output_dir, config, timeout, values)
    finally:
        if server is not None:
            server.stop()
    finish(final)
