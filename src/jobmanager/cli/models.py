"""`jobmanager models`: upload, list, show, download and delete models (Model Management)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobmanager.cli.common import console
from jobmanager.cli.login import session
from jobmanager.cli.output import (
    JsonOption,
    Transfer,
    error,
    print_fields,
    print_json,
    print_table,
    say,
    size,
)
from jobmanager.client import Model

app = typer.Typer(
    help="Models: notebooks (Zeppelin notes, Jupyter notebooks) jobs run.", no_args_is_help=True
)


def existing_file(path: Path) -> Path:
    if not path.is_file():
        error(f"no such file: {path}", "Check the path of the notebook")
    return path


@app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The notebook (.zpln, note.json or .ipynb)")],
    name: Annotated[
        str | None, typer.Option(help="Model name (default: the file name without extension)")
    ] = None,
    description: Annotated[str, typer.Option(help="Description")] = "",
    type_: Annotated[str, typer.Option("--type", help="Model type")] = "",
    model: Annotated[
        str | None, typer.Option("--model", help="Add a new version to this model id instead")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Upload a notebook as a new model, or as a new version of `--model`."""
    existing_file(file)
    with session() as api, Transfer("upload", file.stat().st_size) as transfer:
        transfer.file(file.name, file.stat().st_size)
        if model is None:
            created = api.create_model(
                name or file.stem,
                file,
                description=description,
                type=type_,
                progress=transfer.advance,
            )
        else:
            api.create_version(model, file, progress=transfer.advance)
            created = api.get_model(model)
    if json_:
        print_json(created)
        return
    version = created.last_version
    kind = version.payload_kind if version else ""
    number = version.number if version else ""
    say(f"uploaded {file.name} as model {created.id} version {number} ({kind})")


@app.command("list")
def list_models(
    name: Annotated[str | None, typer.Option(help="Only names matching (`*` wildcards)")] = None,
    json_: JsonOption = False,
) -> None:
    """List the models."""
    with session() as api:
        models = list(api.iter_models({"name": name} if name else None))
    if json_:
        print_json(models)
        return
    print_table(
        ("id", "name", "kind", "version", "author", "created"),
        (_row(model) for model in models),
        "no models",
    )


def _row(model: Model) -> tuple[object, ...]:
    last = model.last_version
    if last is None:
        return (model.id, model.name, "", "", model.author, "")
    return (model.id, model.name, last.payload_kind, last.number, model.author, last.creation_date)


@app.command("show")
def show(model_id: str, json_: JsonOption = False) -> None:
    """Show a model and its versions."""
    with session() as api:
        model = api.get_model(model_id)
        versions = list(api.iter_versions(model_id))
    if json_:
        print_json({**model.raw, "versions": [version.raw for version in versions]})
        return
    print_fields(
        [
            ("id", model.id),
            ("name", model.name),
            ("description", model.description),
            ("type", model.type),
            ("author", model.author),
        ]
    )
    console.print()
    print_table(
        ("version", "id", "kind", "author", "created"),
        ((v.number, v.id, v.payload_kind, v.author, v.creation_date) for v in versions),
        "no versions",
    )


@app.command("download")
def download(
    model_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the payload")],
    version: Annotated[str, typer.Option(help="Version id, or `last`")] = "last",
) -> None:
    """Download a model version's payload (the notebook)."""
    with session() as api, Transfer("download", None) as transfer:
        transfer.file(output.name, None)
        written = api.download_version(model_id, output, version, progress=transfer.advance)
    say(f"wrote {output} ({size(written)})")


@app.command("delete")
def delete(
    model_id: str,
    version: Annotated[
        str | None, typer.Option(help="Delete only this version (id or `last`)")
    ] = None,
) -> None:
    """Delete a model with all its versions (or one version with `--version`)."""
    with session() as api:
        if version is None:
            api.delete_model(model_id)
            say(f"deleted model {model_id}")
        else:
            api.delete_version(model_id, version)
            say(f"deleted version {version} of model {model_id}")
