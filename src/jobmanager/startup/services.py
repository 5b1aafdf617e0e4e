"""What a running service holds: settings, database, store, keys. Built once at start-up."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from jobmanager.auth.keys import KeyRing
from jobmanager.auth.sealing import SecretBox
from jobmanager.auth.tokens import TokenService
from jobmanager.common.home import dev_credentials_file, environments_folder, keys_folder
from jobmanager.startup.settings import Settings
from jobmanager.store.blob_factory import open_blob_store
from jobmanager.store.blobs import (
    BlobStore,
    LocalBlobStore,
    ObjectStoreAccess,
    local_blob_folder,
)
from jobmanager.store.db import Database, sqlite_file
from jobmanager.store.space import MIB, DiskSpace
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager")

DEV_TENANT = "dev"


def open_blobs(settings: Settings, space: DiskSpace | None = None) -> BlobStore:
    """The blob store of the settings: a folder (watched by `space`), or an fsspec URL
    with the S3 access given."""
    secret = settings.blob_secret_access_key
    access = ObjectStoreAccess(
        endpoint_url=settings.blob_endpoint_url,
        region=settings.blob_region,
        access_key_id=settings.blob_access_key_id,
        secret_access_key=None if secret is None else secret.get_secret_value(),
    )
    return open_blob_store(settings.resolved_blob_url, access, space)


def open_space(settings: Settings) -> DiskSpace:
    """The local disks the service writes to: its job environments' folder (in the user's
    cache folder, `home.environments_folder`), the SQLite database's folder and the blob
    folder, where they are local."""
    folders: dict[str, Path] = {}  # a disk's reserve goes in its first folder
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:
        folders["database"] = database.parent
    blobs = local_blob_folder(settings.resolved_blob_url)
    if blobs is not None:
        folders["blobs"] = blobs
    folders["environments"] = environments_folder(settings.home)
    return DiskSpace.watching(folders, settings.disk_reserve_mib * MIB)


@dataclass
class Services:
    settings: Settings
    db: Database
    store: Store
    tokens: TokenService

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        """Connect, apply migrations and load (or make) the signing keys. On a full disk
        too: what a previous run left half written goes first, and the disk's reserve
        makes room for the database to open (`store/space.py`)."""
        settings.home.mkdir(parents=True, exist_ok=True)
        space = open_space(settings)
        blobs = open_blobs(settings, space)
        if isinstance(blobs, LocalBlobStore):
            blobs.remove_leftovers()
        space.check()
        space.make_room("database")
        db = Database(settings.resolved_database_url, space=space)
        if migrate:
            db.migrate()
        keys = KeyRing.load_or_create(keys_folder(settings.home))
        tokens = TokenService(
            keys, issuer=settings.base_url, ttl_seconds=settings.token_ttl_seconds
        )
        box = SecretBox.load_or_create(keys_folder(settings.home))
        store = Store(db, blobs, settings.tenant_max_live_jobs, box=box)
        return cls(settings=settings, db=db, store=store, tokens=tokens)

    def ensure_dev_tenant(self) -> Path | None:
        """On the embedded default, a first start makes a `dev` tenant and saves its credentials.

        Returns the credentials file when it exists, so the caller can say where it is.
        """
        path = dev_credentials_file(self.settings.home)
        if not (self.settings.is_embedded and self.settings.create_dev_tenant):
            return None
        if path.exists():
            return path
        if DEV_TENANT not in {t.name for t in self.store.tenants.all()}:
            self.store.tenants.create(DEV_TENANT)
        credential = self.store.tenants.create_credentials(DEV_TENANT)
        document = {
            "tenant": credential.tenant,
            "clientId": credential.client_id,
            "clientSecret": credential.client_secret,
            "url": self.settings.base_url,
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle, indent=2)
        return path

    def close(self) -> None:
        self.db.dispose()
