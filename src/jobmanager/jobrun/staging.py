"""Moving files between the store and an environment's folders.

Input: the input folder's files (sub-folders kept) into `input/`, and the model's
payload beside them. Output: everything under `output/` into the job's output folder,
one file at a time, each written atomically by the store and recorded as the job's own
output (`store/outputs.py`).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from jobmanager.common.chunks import chunks_of
from jobmanager.engine.layout import Layout, open_regular, regular_files
from jobmanager.engine.note import note_file_name
from jobmanager.store.jobs import JobRecord
from jobmanager.store.outages import patiently
from jobmanager.store.outputs import OutputOf
from jobmanager.store.space import full_storage
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.staging")
MIB = 1024 * 1024


@dataclass(frozen=True)
class StagedInput:
    """What `stage_input` wrote: the bytes, and each file's path and SHA-256 as staged."""

    bytes: int
    checksums: dict[str, str]


def stage_input(store: Store, job: JobRecord, input_dir: Path) -> StagedInput:
    """Copy the input folder's tree into `input_dir`, checksumming each file as written."""
    written = 0
    checksums: dict[str, str] = {}
    for relative, entry in store.dataexchange.list_tree(job.tenant_id, job.input_folder_id):
        target = _inside(input_dir, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        written += _copy_blob(store, entry.blob_key, target, checksums, relative)
    return StagedInput(written, checksums)


def _copy_blob(
    store: Store, key: str, target: Path, checksums: dict[str, str], relative: str
) -> int:
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as handle:
        for chunk in store.blobs.read_chunks(key):
            digest.update(chunk)
            written += handle.write(chunk)
    checksums[relative] = digest.hexdigest()
    return written


def stage_executed_note(store: Store, job: JobRecord, origin: JobRecord, model: Path) -> None:
    """Put the executed note that `origin` saved in place of the staged model (a repair
    runs it): its own output, even if a later job overwrote it in the folder — or, for a
    job that ran before outputs were recorded, the folder's file. ValueError when neither
    is there."""
    relative = str((origin.provenance or {}).get("executedNote") or "")
    saved = store.outputs.find(origin.tenant_id, origin.id, relative)
    if saved is not None:
        _copy_blob(store, saved.blob_key, model, {}, relative)
        return
    files = dict(store.dataexchange.list_tree(origin.tenant_id, origin.output_folder_id))
    if relative not in files:
        raise ValueError(f"job {origin.id} left no executed note {relative!r} in its output folder")
    _copy_blob(store, files[relative].blob_key, model, {}, relative)


def stage_model(store: Store, job: JobRecord, folder: Path) -> tuple[Path, str]:
    """Write the job's model payload into `folder`; return its path and its kind.

    The file is named after the model, as Zeppelin names notes for a note (`name_ID.zpln`,
    or `note.json` for a legacy one); the executed copy in the outputs has the same name."""
    version = store.models.get_version(job.tenant_id, job.model_id, job.model_version_id)
    model = store.models.get(job.tenant_id, job.model_id)
    staged = folder / ".model"
    with staged.open("wb") as handle:
        for chunk in store.blobs.read_chunks(version.payload_key):
            handle.write(chunk)
    stem = _safe_stem(model.name)
    if version.payload_kind == "zeppelin":
        name = note_file_name(staged.read_bytes(), stem)
    else:
        name = stem + (".ipynb" if version.payload_kind == "jupyter" else "")
    return staged.rename(folder / name), version.payload_kind


@dataclass(frozen=True)
class Uploaded:
    """What `upload_outputs` did: the bytes it saved, and what it could not save, with why."""

    bytes: int
    failed: list[str]


def upload_outputs(
    store: Store, job: JobRecord, layout: Layout, max_file_bytes: int, folder: str = ""
) -> Uploaded:
    """Upload the regular files under the environment's `output/`, then the executed
    notebook, each at most `max_file_bytes` (the upload limit), into the output folder's
    sub-folder `folder` (a retried attempt's name) or its top. Call it once the
    environment's processes are gone. Those that meet a full disk are kept where they
    fit (`_keep_where_room`)."""
    files = [*regular_files(layout.output_dir), *regular_files(layout.executed_dir)]
    failed = []
    no_room: list[tuple[str, Path]] = []
    saved = 0
    for relative, path in files:
        size = os.lstat(path).st_size
        if size > max_file_bytes:
            over = f"{size // MIB} MiB, over the upload limit of {max_file_bytes // MIB} MiB"
            failed.append(f"{relative} ({over})")
            continue
        outcome = _save_output(store, job, folder, relative, path)
        if outcome is None:
            saved += size
        elif outcome == NO_ROOM:
            no_room.append((relative, path))
        else:
            failed.append(relative)
    kept, dropped = _keep_where_room(store, job, folder, no_room)
    return Uploaded(saved + kept, failed + dropped)


NO_ROOM = "no room on the disk"


def _save_output(
    store: Store, job: JobRecord, folder: str, relative: str, path: Path
) -> str | None:
    """Save one output; None when saved, else why not (`NO_ROOM`: a storage is full)."""
    name = f"{folder}/{relative}" if folder else relative
    try:
        patiently(partial(_put_output, store, job, name, path), f"saving output {relative}")
    except Exception as error:
        if full_storage(error) is not None:
            return NO_ROOM
        log.exception("job %s: could not upload output %s", job.id, relative)
        return "failed"
    return None


def _keep_where_room(
    store: Store, job: JobRecord, folder: str, no_room: list[tuple[str, Path]]
) -> tuple[int, list[str]]:
    """The outputs that met a full disk: the largest is dropped — deleted from the
    environment, whose disk it shares most often (the job's own writes filled it) — and the
    others tried again, until all are saved or a round saves none. Return the bytes saved
    and the outputs dropped, each saying why."""
    pending = sorted(no_room, key=lambda item: os.lstat(item[1]).st_size)
    dropped: list[str] = []
    kept = 0
    while pending:
        largest, largest_path = pending.pop()
        largest_path.unlink(missing_ok=True)
        dropped.append(f"{largest} ({NO_ROOM})")
        still, saved_any = [], False
        for relative, path in pending:
            size = os.lstat(path).st_size
            outcome = _save_output(store, job, folder, relative, path)
            if outcome is None:
                kept, saved_any = kept + size, True
            elif outcome == NO_ROOM:
                still.append((relative, path))
            else:
                dropped.append(relative)
        if still and not saved_any:  # the room made was not enough for any
            dropped += [f"{relative} ({NO_ROOM})" for relative, _ in still]
            break
        pending = still
    return kept, dropped


def _put_output(store: Store, job: JobRecord, name: str, path: Path) -> None:
    store.dataexchange.put_file(
        job.tenant_id,
        job.output_folder_id,
        name,
        _chunks(path),
        modified_by=job.created_by,
        output_of=OutputOf(job.id, job.attempt),
    )


def _chunks(path: Path) -> Iterator[bytes]:
    """Opened on the first read, so an upload refused before it reads leaves no file open;
    never through a link (see `upload_outputs`)."""
    yield from chunks_of(os.fdopen(open_regular(path), "rb"))


def _inside(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if any(part in ("", ".", "..") for part in parts) or PurePosixPath(relative).is_absolute():
        raise ValueError(f"unsafe path in folder: {relative!r}")
    return root.joinpath(*parts)


def _safe_stem(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_. ()" else "_" for c in name).strip(" .")
    return cleaned or "model"
