"""Tenants and their API credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jobmanager.auth.passwords import hash_secret, new_client_id, new_secret, verify_secret
from jobmanager.domain.errors import Conflict, InvalidInput, NotFound
from jobmanager.store.db import Database
from jobmanager.store.tables import Credential, Tenant
from jobmanager.store.types import utcnow


@dataclass(frozen=True)
class TenantRecord:
    id: str
    name: str
    created_at: datetime
    max_live_jobs: int | None = None  # None: the service's default cap


@dataclass(frozen=True)
class CredentialRecord:
    client_id: str
    tenant: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewCredential:
    """A credential just made: the only moment its secret is known."""

    client_id: str
    client_secret: str
    tenant: str


class TenantRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str) -> TenantRecord:
        _check_tenant_name(name)
        try:
            with self.db.transaction() as session:
                tenant = Tenant(name=name)
                session.add(tenant)
                session.flush()
                return _tenant_record(tenant)
        except IntegrityError as error:
            raise Conflict(f"tenant {name!r} already exists") from error

    def get_by_name(self, name: str) -> TenantRecord:
        with self.db.reading() as session:
            tenant = session.scalar(select(Tenant).where(Tenant.name == name))
            if tenant is None:
                raise NotFound("tenant", name)
            return _tenant_record(tenant)

    def all(self) -> list[TenantRecord]:
        with self.db.reading() as session:
            return [
                _tenant_record(t) for t in session.scalars(select(Tenant).order_by(Tenant.name))
            ]

    def set_cap(self, name: str, max_live_jobs: int | None) -> TenantRecord:
        """Cap the jobs the tenant may have live at once (None: the service's default)."""
        if max_live_jobs is not None and max_live_jobs < 1:
            raise InvalidInput("a tenant's cap on live jobs is at least 1")
        with self.db.transaction() as session:
            tenant = session.scalar(select(Tenant).where(Tenant.name == name).with_for_update())
            if tenant is None:
                raise NotFound("tenant", name)
            tenant.max_live_jobs = max_live_jobs
            return _tenant_record(tenant)

    def create_credentials(self, tenant_name: str) -> NewCredential:
        secret = new_secret()
        with self.db.transaction() as session:
            tenant = session.scalar(select(Tenant).where(Tenant.name == tenant_name))
            if tenant is None:
                raise NotFound("tenant", tenant_name)
            client_id = new_client_id(tenant.name)
            session.add(
                Credential(
                    tenant_id=tenant.id, client_id=client_id, secret_hash=hash_secret(secret)
                )
            )
        return NewCredential(client_id=client_id, client_secret=secret, tenant=tenant_name)

    def list_credentials(self, tenant_name: str | None = None) -> list[CredentialRecord]:
        query = select(Credential, Tenant.name).join(Tenant, Tenant.id == Credential.tenant_id)
        if tenant_name is not None:
            query = query.where(Tenant.name == tenant_name)
        with self.db.reading() as session:
            rows = session.execute(query.order_by(Credential.created_at)).all()
            return [
                CredentialRecord(c.client_id, name, c.created_at, c.revoked_at) for c, name in rows
            ]

    def revoke_credentials(self, client_id: str) -> None:
        with self.db.transaction() as session:
            credential = session.scalar(select(Credential).where(Credential.client_id == client_id))
            if credential is None:
                raise NotFound("credentials", client_id)
            if credential.revoked_at is None:
                credential.revoked_at = utcnow()

    def authenticate(self, client_id: str, secret: str) -> str | None:
        """The tenant's name when the pair is valid and not revoked, else None."""
        with self.db.reading() as session:
            row = session.execute(
                select(Credential, Tenant.name)
                .join(Tenant, Tenant.id == Credential.tenant_id)
                .where(Credential.client_id == client_id)
            ).first()
        if row is None:
            verify_secret(secret, _dummy_hash())  # same cost whether or not the id exists
            return None
        credential, tenant = row
        if credential.revoked_at is not None or not verify_secret(secret, credential.secret_hash):
            return None
        return str(tenant)

    def active_client(self, client_id: str) -> str | None:
        """The tenant id of a client whose credentials are not revoked, else None."""
        with self.db.reading() as session:
            return session.scalar(
                select(Credential.tenant_id).where(
                    Credential.client_id == client_id, Credential.revoked_at.is_(None)
                )
            )


@cache
def _dummy_hash() -> str:
    return hash_secret("not-a-real-secret")


def _check_tenant_name(name: str) -> None:
    if not (1 <= len(name) <= 64) or not all(c.isalnum() or c in "-_" for c in name):
        raise InvalidInput("a tenant name is 1 to 64 letters, digits, '-' or '_'")


def _tenant_record(tenant: Tenant) -> TenantRecord:
    return TenantRecord(tenant.id, tenant.name, tenant.created_at, tenant.max_live_jobs)
