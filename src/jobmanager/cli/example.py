"""The example job that `jobmanager serve --example` (and `make run`) submits and watches.

It goes through the public API with the Python client, like any caller: a token from
the dev credentials, a configuration, the model (a Zeppelin note), input data in a
folder, a job; then it follows the job to its end and lists what landed in the output
folder.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from rich.console import Console

from jobmanager.client import Client, Configuration, Job
from jobmanager.client.folders import resolve_folder

NOTE = "sensor_report.zpln"
DATA = "sensors.csv"
CONFIGURATION = "example"
# Jobs of the example configuration that run at once (the API's default is 1, as the
# SPEC says); jobs run at most as many at once as the service has job slots anyway.
EXAMPLE_ENVIRONMENTS = 4


def example_configuration(api: Client) -> Configuration:
    """The `example` configuration, made (or, from an older version, changed) to run
    several jobs at once."""
    found = next((c for c in api.iter_configurations() if c.name == CONFIGURATION), None)
    if found is None:
        return api.create_configuration(
            CONFIGURATION,
            description="made by `jobmanager serve --example`",
            max_environments=EXAMPLE_ENVIRONMENTS,
        )
    if found.max_environments < EXAMPLE_ENVIRONMENTS:
        return api.update_configuration(found.id, {"maxEnvironments": EXAMPLE_ENVIRONMENTS})
    return found


def run_example(base_url: str, credentials: Path, console: Console) -> Job:
    secrets = json.loads(credentials.read_text())
    assets = resources.files("jobmanager.cli.examples")
    with Client(base_url, secrets["clientId"], secrets["clientSecret"]) as api:
        configuration = example_configuration(api)
        with assets.joinpath(NOTE).open("rb") as note:
            model = api.create_model("sensor report", note, filename=NOTE, type="zeppelin")
        inputs = resolve_folder(api, "public/example-input", create=True)
        outputs = resolve_folder(api, "public/example-output", create=True)
        with assets.joinpath(DATA).open("rb") as data:
            api.upload_file(inputs.id, data, name=DATA, type="text/csv")
        job = api.submit_job(
            model.id,
            configuration.id,
            inputs.id,
            outputs.id,
            maximum_execution_time=600,
            parameters={"threshold": "70"},
        )
        console.print(f"[bold]example job[/bold] {job.id} submitted: {job.status}")
        shown: list[str] = []

        def show(update: Job) -> None:
            progress = update.progress.text if update.progress else ""
            detail = update.message if update.is_final or not progress else progress
            line = f"{update.status:<10} {detail}"
            if not shown or shown[-1] != line:
                console.print(f"  {line}")
                shown.append(line)

        final = api.wait_for_job(job.id, interval=0.2, on_update=show)
        colour = "green" if final.status == "SUCCEEDED" else "red"
        console.print(f"[{colour}]example job {final.status}[/{colour}]: {final.message}")
        for entry in api.iter_directory(outputs.id):
            console.print(f"  output: {entry.name}")
        return final
