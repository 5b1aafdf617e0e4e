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
from jobmanager.client import Client, Model, NotFoundError

app = typer.Typer(
    help="Models: notebooks (Zeppelin notes, Jupyter notebooks) jobs run.", no_args_is_help=True
)


def model_id(api: Client, text: str) -> str:
    """A model named by id or by its (unique) name."""
    try:
        return api.get_model(text).id
    except NotFoundError:
        named = [model.id for model in api.iter_models({"name": text}) if model.name == text]
    if len(named) == 1:
        return named[0]
    if named:
        error(f"{len(named)} models are named {text!r}", "Name the model by its id")
    error(f"model {text!r} not found", "See `jobmanager models list`")


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
        str | None, typer.Option("--model", help="Add a new version to this model (id or name)")
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
            target = model_id(api, model)
            api.create_version(target, file, progress=transfer.advance)
            created = api.get_model(target)
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
def show(
    model: Annotated[str, typer.Argument(help="Model id or name")], json_: JsonOption = False
) -> None:
    """Show a model and its versions."""
    with session() as api:
        found = api.get_model(model_id(api, model))
        versions = list(api.iter_versions(found.id))
    if json_:
        print_json({**found.raw, "versions": [version.raw for version in versions]})
        return
    print_fields(
        [
            ("id", found.id),
            ("name", found.name),
            ("description", found.description),
            ("type", found.type),
            ("author", found.author),
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
    model: Annotated[str, typer.Argument(help="Model id or name")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the payload")],
    version: Annotated[str, typer.Option(help="Version id, or `last`")] = "last",
) -> None:
    """Download a model version's payload (the notebook)."""
    with session() as api, Transfer("download", None) as transfer:
        transfer.file(output.name, None)
        target = model_id(api, model)
        written = api.download_version(target, output, version, progress=transfer.advance)
    say(f"wrote {output} ({size(written)})")


@app.command("delete")
def delete(
    model: Annotated[str, typer.Argument(help="Model id or name")],
    version: Annotated[
        str | None, typer.Option(help="Delete only this version (id or `last`)")
    ] = None,
) -> None:
    """Delete a model with all its versions (or one version with `--version`)."""
    with session() as api:
        target = model_id(api, model)
        if version is None:
            api.delete_model(target)
            say(f"deleted model {model} ({target})")
        else:
            api.delete_version(target, version)
            say(f"deleted version {version} of model {model} ({target})")
