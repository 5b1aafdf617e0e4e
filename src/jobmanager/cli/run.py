"""`jobmanager run NOTEBOOK --input DIR`: the whole loop in one command.

Upload the notebook as a model (a new version when a model of that name exists),
upload the input folder, use a configuration (`--config`, else one named `default`,
created when missing), submit, watch, and download the outputs.

It runs against the configured server; with none configured, against the local service
of the home, started when none runs and kept warm for the next command (see `login.py`
and `local_service.py`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from jobmanager.cli.configurations import configuration_id
from jobmanager.cli.dataexchange import download_folder, upload_folder
from jobmanager.cli.jobs import (
    ParamOption,
    finish,
    parameters,
    watch_job,
)
from jobmanager.cli.login import session
from jobmanager.cli.output import TimeoutOption, error, say, size
from jobmanager.client import Client, Job, Model
from jobmanager.client.folders import resolve_folder
from jobmanager.domain.names import name_from

DEFAULT_CONFIGURATION = "default"
# The run's folder is `<notebook name>-<time>`: the name leaves room for the time.
RUN_NAME_BYTES = 200


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

    The notebook runs in a folder holding the input folder's files (sub-folders kept),
    its working directory, so `open("data.csv")` reads data.csv of --input. It finds
    its two folders as `inputFolder` and `outputFolder`: Python variables in its kernel,
    environment variables, and `z.get("inputFolder")` in a Zeppelin note. Everything it
    writes under `outputFolder` lands in --output (default ./NOTEBOOK-output), with the
    executed notebook beside it.

    Exit code 0 succeeded, 1 failed, 2 stopped."""
    if not notebook.is_file():
        error(f"no such file: {notebook}", "Name the notebook to run")
    if not input_dir.is_dir():
        error(f"no such folder: {input_dir}", "--input names a local folder of input files")
    values = parameters(param)
    output_dir = output_dir or Path(f"{notebook.stem}-output")
    with session() as api:
        final = run_loop(api, notebook, input_dir, output_dir, config, timeout, values)
    finish(final)
