"""After restoring a backup: does the object store hold every blob the database names?

Run it with the restored cluster's settings (the env file), before starting the service:

    set -a; . /etc/jobmanager/jobmanager.env; set +a
    /opt/jobmanager/venv/bin/python deploy/check_restore.py

The database names a blob for each content (the bytes of Data Exchange files and of
job outputs, `store/contents.py`) and for each model version's payload. Exit 0 when
every one is in the store; 1, naming each missing one and what it held, otherwise.
Objects that no row names (uploads under way at the time of the dump, blobs deleted
after it) are left alone: the service never reads them. docs/deploy.md, Backups.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, select

from jobmanager.startup.services import open_blobs
from jobmanager.startup.settings import Settings, mask_url
from jobmanager.store.tables import Content, ModelVersion


def named_blobs(database_url: str) -> dict[str, str]:
    """Every blob key the database names, with what it holds."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            contents = connection.execute(select(Content.blob_key, Content.size))
            named = {key: f"a content of {size} bytes" for key, size in contents}
            payloads = connection.execute(select(ModelVersion.payload_key, ModelVersion.model_id))
            named |= {key: f"the payload of a version of model {model}" for key, model in payloads}
    finally:
        engine.dispose()
    return named


def main() -> int:
    settings = Settings()
    named = named_blobs(settings.resolved_database_url)
    blobs = open_blobs(settings)
    missing = {key: held for key, held in named.items() if not blobs.exists(key)}
    where = f"{mask_url(settings.resolved_database_url)} and {settings.resolved_blob_url}"
    for key, held in sorted(missing.items()):
        print(f"MISSING  {key}  ({held})")
    if missing:
        print(f"{len(missing)} of {len(named)} blobs the database names are not in the store")
        print(f"({where})")
        return 1
    print(f"all {len(named)} blobs the database names are in the store ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
