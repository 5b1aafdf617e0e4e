"""The official client's SDK, unchanged, against a real server: the calls of issue 14 that
the CLI does not make. Names outside Latin-1 in its multipart bodies, its `ResourcePatch`
with `type`, its documented model filter, and date filters over the dates the server
answered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.acceptance.mdsp import Mdsp
from tests.acceptance.test_mdsp_resources import DX, PUBLIC, api, unique

pytestmark = pytest.mark.node


def sdk(mdsp: Mdsp, code: str) -> Any:
    return json.loads(mdsp.sdk(code).check().stdout)


def make_folder(mdsp: Mdsp) -> str:
    body = {"name": unique("sdk"), "parentId": PUBLIC}
    answer = api(mdsp.server, "POST", f"{DX}/directories", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_a_model_named_outside_latin_1(mdsp: Mdsp) -> None:
    name = unique("Zeppelin • note, v2 | draft")
    model = sdk(
        mdsp,
        f"""
        const payload = {{ mimeType: "application/json", size: 2, buffer: Buffer.from("{{}}"),
                           fileName: {json.dumps(name + ".zpln")} }};
        return await sdk.GetModelManagementClient().PostModel(
            {{ name: {json.dumps(name)}, type: "core.basicmodel", lastVersion: {{}} }}, payload);
        """,
    )
    assert model["name"] == name


def test_a_file_name_outside_latin_1_is_a_clear_400(mdsp: Mdsp) -> None:
    folder = make_folder(mdsp)
    result = mdsp.sdk(
        f"""
        return await sdk.GetDataExchangeClient().PostFile(
            {{ name: "Zeppelin • note.txt", parentId: "{folder}", type: "text/plain" }},
            Buffer.from("hello"));
        """
    )
    assert result.code == 1
    assert "Bad Request" in result.stderr and "'•'" in result.stderr, result.stderr


def test_patch_file_properties_with_the_sdks_resource_patch(mdsp: Mdsp) -> None:
    folder = make_folder(mdsp)
    patched = sdk(
        mdsp,
        f"""
        const dx = sdk.GetDataExchangeClient();
        const file = await dx.PostFile(
            {{ name: "a.txt", parentId: "{folder}", type: "text/plain" }}, Buffer.from("1,2"));
        return await dx.PatchFileProperties(file.id, {{ name: "a.csv", type: "text/csv" }});
        """,
    )
    assert (patched["name"], patched["type"]) == ("a.csv", "text/csv")


def test_the_documented_model_filter_and_author(mdsp: Mdsp) -> None:
    name = unique("model")
    found = sdk(
        mdsp,
        f"""
        const mm = sdk.GetModelManagementClient();
        const payload = {{ mimeType: "application/json", size: 2, buffer: Buffer.from("{{}}"),
                           fileName: "m.json" }};
        const io = {{ optionalParameters: {{ entityId: "64", entityName: "pump" }} }};
        await mm.PostModel({{ name: "{name}", description: "modelDescription", type: "type",
                              author: "{name}-author", lastVersion: {{ io }} }}, payload);
        const documented = {{ name: "{name}*", type: "type", description: "modelDescription",
                              optionalParameters: {{ entityId: "64", entityName: "*" }} }};
        const byFilter = await mm.GetModels({{ filter: JSON.stringify(documented) }});
        const byAuthor = await mm.GetModels(
            {{ filter: JSON.stringify({{ author: "{name}-author" }}) }});
        return [byFilter.models.map((m) => m.name), byAuthor.models.map((m) => m.name)];
        """,
    )
    assert found == [[name], [name]]


def test_a_folder_entrys_modified_date_matches_itself(mdsp: Mdsp) -> None:
    folder = make_folder(mdsp)
    found = sdk(
        mdsp,
        f"""
        const dx = sdk.GetDataExchangeClient();
        const file = await dx.PostFile(
            {{ name: "d.txt", parentId: "{folder}", type: "text/plain" }}, Buffer.from("x"));
        const shown = file.modifiedDate;
        const list = async (condition) => (await dx.GetDirectory("{folder}",
            {{ filter: JSON.stringify({{ modifiedDate: condition }}) }})).files.length;
        return [await list({{ eq: shown }}), await list({{ after: shown }}),
                await list({{ before: shown }})];
        """,
    )
    assert found == [1, 0, 0]
