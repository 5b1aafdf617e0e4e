"""The official client, unchanged, against a real server: `mdsp data-exchange` and `mdsp models`.

What each command prints is what a user reads, so the tests check it; what the server
holds afterwards is checked through its HTTP API. Contents are 7-bit ASCII: the
client's uploads clear the high bit of every byte.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.mdsp import Mdsp
from tests.acceptance.server import ServerProcess

pytestmark = pytest.mark.node

DX = "/api/dataexchange/v3"
MM = "/api/modelmanagement/v3"
PUBLIC = "_PUBLIC_ROOT_ID"


def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return match.group(1)


def dx(mdsp: Mdsp, cwd: Path, *args: str) -> str:
    return mdsp.run("data-exchange", *args, cwd=cwd).check().stdout


# ---------------------------------------------------------------------- data exchange


def test_data_exchange_mkdir_upload_list_download_delete(mdsp: Mdsp, tmp_path: Path) -> None:
    name = unique("inputs")
    made = dx(mdsp, tmp_path, "--mode", "mkdir", "--dirname", name, "--dirid", "public")
    folder = found(r"with dirid (\S+) was created", made)
    assert name in made
    assert api(mdsp.server, "GET", f"{DX}/directories/{folder}/properties").json()["name"] == name

    content = "".join(f"{i},value {i}\n" for i in range(5000)).encode("ascii")
    (tmp_path / "data.csv").write_bytes(content)
    uploaded = dx(mdsp, tmp_path, "--mode", "upload", "--file", "data.csv", "--dirid", folder)
    assert f"with size of {len(content)} bytes and type text/csv was uploaded" in uploaded
    (tmp_path / "blob.unknownext").write_bytes(b"no media type for this one\r\n")
    uploaded = dx(
        mdsp, tmp_path, "--mode", "upload", "--file", "blob.unknownext", "--dirid", folder
    )
    assert "with size of 28 bytes" in uploaded

    listed = dx(mdsp, tmp_path, "--mode", "list", "--dirid", folder)
    file_id = found(r"F: (\S+) data\.csv", listed)
    assert f"[{len(content)}] [text/csv]" in listed
    assert "2 entries listed" in listed
    in_root = dx(mdsp, tmp_path, "--mode", "list")
    assert f"D: {folder} {name}" in in_root

    info = dx(mdsp, tmp_path, "--mode", "info", "--fileid", file_id)
    assert "name: data.csv" in info
    assert f"parentId: {folder}" in info

    dx(mdsp, tmp_path, "--mode", "download", "--fileid", file_id, "--file", "copy.csv")
    assert (tmp_path / "copy.csv").read_bytes() == content

    deleted = dx(mdsp, tmp_path, "--mode", "delete", "--fileid", file_id)
    assert f"with id {file_id} was deleted" in deleted
    assert api(mdsp.server, "GET", f"{DX}/files/{file_id}").status_code == 404
    assert "1 entries listed" in dx(mdsp, tmp_path, "--mode", "list", "--dirid", folder)

    refused = mdsp.run("data-exchange", "--mode", "rmdir", "--dirid", folder, cwd=tmp_path)
    assert refused.code != 0
    dx(mdsp, tmp_path, "--mode", "rmdir", "--dirid", folder, "--recursive")
    assert api(mdsp.server, "GET", f"{DX}/directories/{folder}/properties").status_code == 404


def test_data_exchange_rename_file_and_folder(mdsp: Mdsp, tmp_path: Path) -> None:
    made = dx(mdsp, tmp_path, "--mode", "mkdir", "--dirname", unique("old"), "--dirid", "private")
    folder = found(r"with dirid (\S+) was created", made)
    (tmp_path / "a.txt").write_bytes(b"abc")
    dx(mdsp, tmp_path, "--mode", "upload", "--file", "a.txt", "--dirid", folder)
    file_id = found(r"F: (\S+) a\.txt", dx(mdsp, tmp_path, "--mode", "list", "--dirid", folder))

    renamed = dx(mdsp, tmp_path, "--mode", "rename", "--fileid", file_id, "--newname", "b.txt")
    assert "name: b.txt" in renamed
    new_name = unique("new")
    dx(mdsp, tmp_path, "--mode", "renamedir", "--dirid", folder, "--newname", new_name)
    properties = api(mdsp.server, "GET", f"{DX}/directories/{folder}/properties").json()
    assert properties["name"] == new_name
    bad = mdsp.run(
        "data-exchange", "--mode", "renamedir", "--dirid", folder, "--newname", "..", cwd=tmp_path
    )
    assert bad.code != 0
    assert api(mdsp.server, "GET", f"{DX}/directories/{folder}/properties").json() == properties


def test_data_exchange_list_walks_every_page(mdsp: Mdsp, tmp_path: Path) -> None:
    """101 entries: the client asks for pages 0..totalPages and must list each once."""
    folder = api(
        mdsp.server, "POST", f"{DX}/directories", json={"name": unique("many"), "parentId": PUBLIC}
    ).json()["id"]
    for index in range(101):
        answer = api(
            mdsp.server,
            "POST",
            f"{DX}/files",
            files={"file": (f"f{index:03d}.txt", b"x", "text/plain")},
            data={"metadata": json.dumps({"name": f"f{index:03d}.txt", "parentId": folder})},
        )
        assert answer.status_code == 201
    listed = dx(mdsp, tmp_path, "--mode", "list", "--dirid", folder)
    assert "101 entries listed" in listed
    assert len(set(re.findall(r"F: \S+ (f\d{3}\.txt)", listed))) == 101


def test_data_exchange_unknown_file_is_an_error(mdsp: Mdsp, tmp_path: Path) -> None:
    result = mdsp.run("data-exchange", "--mode", "info", "--fileid", "no-such-file", cwd=tmp_path)
    assert result.code != 0
    assert "Not Found" in result.stderr
    assert "file 'no-such-file' not found" in result.stderr


# ---------------------------------------------------------------------- models


def test_models_create_list_info_download_delete(mdsp: Mdsp, tmp_path: Path) -> None:
    name = unique("model")
    template = mdsp.run("models", "--mode", "template", "--modelname", name, cwd=tmp_path).check()
    assert "model.metadata.mdsp.json" in template.stdout
    payload = tmp_path / "model.payload.mdsp.json"
    original = payload.read_bytes()

    created = mdsp.run(
        "models",
        "--mode",
        "create",
        "--metadata",
        "model.metadata.mdsp.json",
        "--payload",
        "model.payload.mdsp.json",
        cwd=tmp_path,
    ).check()
    model_id = found(r"Model with modelid (\S+) and name", created.stdout)
    assert name in created.stdout

    listed = mdsp.run("models", "--mode", "list", cwd=tmp_path).check().stdout
    line = next(row for row in listed.splitlines() if row.startswith(model_id))
    assert name in line
    assert "core.basicmodel" in line

    info = mdsp.run("models", "--mode", "info", "--modelid", model_id, cwd=tmp_path).check()
    assert model_id in info.stdout
    assert name in info.stdout

    download = tmp_path / "download"
    download.mkdir()
    mdsp.run(
        "models",
        "--mode",
        "download",
        "--modelid",
        model_id,
        "--metadata",
        "meta.json",
        "--payload",
        "payload.json",
        cwd=download,
    ).check()
    assert (download / "payload.json").read_bytes() == original
    metadata = json.loads((download / "meta.json").read_text())
    assert metadata["number"] == 1
    assert metadata["dependencies"] == [
        {"name": "sklearn-theano", "type": "Python", "version": "2.7"}
    ]
    assert metadata["io"]["consumes"] == "CSV"

    deleted = mdsp.run("models", "--mode", "delete", "--modelid", model_id, cwd=tmp_path).check()
    assert "was deleted" in deleted.stdout
    assert api(mdsp.server, "GET", f"{MM}/models/{model_id}").status_code == 404
    again = mdsp.run("models", "--mode", "info", "--modelid", model_id, cwd=tmp_path)
    assert again.code != 0


def test_models_notebook_payload_round_trips(mdsp: Mdsp, tmp_path: Path) -> None:
    """A Jupyter notebook as the payload: stored byte for byte and recognised as runnable."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "print(1)",
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "note.ipynb").write_text(json.dumps(notebook, indent=1))
    metadata = {"name": unique("nb"), "type": "jupyter", "description": "d", "lastVersion": {}}
    (tmp_path / "meta.json").write_text(json.dumps(metadata))
    created = mdsp.run(
        "models",
        "--mode",
        "create",
        "--metadata",
        "meta.json",
        "--payload",
        "note.ipynb",
        cwd=tmp_path,
    ).check()
    model_id = found(r"Model with modelid (\S+) and name", created.stdout)
    last = api(mdsp.server, "GET", f"{MM}/models/{model_id}/versions/last")
    assert last.json()["payloadKind"] == "jupyter"
    out = tmp_path / "out"
    out.mkdir()
    mdsp.run(
        "models",
        "--mode",
        "download",
        "--modelid",
        model_id,
        "--metadata",
        "m.json",
        "--payload",
        "p.ipynb",
        cwd=out,
    ).check()
    assert (out / "p.ipynb").read_bytes() == (tmp_path / "note.ipynb").read_bytes()
    mdsp.run("models", "--mode", "delete", "--modelid", model_id, cwd=tmp_path).check()
