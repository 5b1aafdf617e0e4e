"""Moving files between the store and an environment's folders.

Input: the input folder's files (sub-folders kept) into `input/`, and the model's
payload beside them. Output: everything under `output/` into the job's output folder,
one file at a time, each written atomically by the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from jobmanager.chunks import chunks_of
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.staging")
SUFFIX_OF_KIND = {"zeppelin": ".zpln", "jupyter": ".ipynb"}


def stage_input(store: Store, job: JobRecord, input_dir: Path) -> int:
    """Copy the input folder's tree into `input_dir`; return the number of files."""
    count = 0
    for relative, entry in store.dataexchange.list_tree(job.tenant_id, job.input_folder_id):
        target = _inside(input_dir, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            for chunk in store.blobs.read_chunks(entry.blob_key):
                handle.write(chunk)
        count += 1
    return count


def stage_model(store: Store, job: JobRecord, folder: Path) -> tuple[Path, str]:
    """Write the job's model payload into `folder`; return its path and its kind."""
    version = store.models.get_version(job.tenant_id, job.model_id, job.model_version_id)
    model = store.models.get(job.tenant_id, job.model_id)
    path = folder / (_safe_stem(model.name) + SUFFIX_OF_KIND.get(version.payload_kind, ""))
    with path.open("wb") as handle:
        for chunk in store.blobs.read_chunks(version.payload_key):
            handle.write(chunk)
    return path, version.payload_kind


def upload_outputs(store: Store, job: JobRecord, output_dir: Path) -> list[str]:
    """Upload every file under `output_dir`; return the relative paths that failed."""
    failed = []
    for path in sorted(p for p in output_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(output_dir).as_posix()
        try:
            store.dataexchange.put_file(
                job.tenant_id,
                job.output_folder_id,
                relative,
                _chunks(path),
                modified_by=job.created_by,
            )
        except Exception:
            log.exception("job %s: could not upload output %s", job.id, relative)
            failed.append(relative)
    return failed


def _chunks(path: Path) -> Iterator[bytes]:
    """Opened on the first read, so an upload refused before it reads leaves no file open."""
    yield from chunks_of(path.open("rb"))


def _inside(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if any(part in ("", ".", "..") for part in parts) or PurePosixPath(relative).is_absolute():
        raise ValueError(f"unsafe path in folder: {relative!r}")
    return root.joinpath(*parts)


def _safe_stem(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_. ()" else "_" for c in name).strip(" .")
    return cleaned or "model"
