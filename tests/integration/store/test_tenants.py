"""Tenants and credentials in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jobmanager.domain.errors import Conflict, InvalidInput, NotFound
from jobmanager.startup.services import Services
from jobmanager.store.tables import Credential


def test_credentials_authenticate_until_revoked(services: Services) -> None:
    tenants = services.store.tenants
    tenants.create("acme")
    made = tenants.create_credentials("acme")
    assert tenants.authenticate(made.client_id, made.client_secret) == "acme"
    assert tenants.authenticate(made.client_id, "wrong") is None
    tenants.revoke_credentials(made.client_id)
    assert tenants.authenticate(made.client_id, made.client_secret) is None
    assert tenants.active_client(made.client_id) is None


def test_secret_is_stored_only_as_a_salted_hash(services: Services) -> None:
    services.store.tenants.create("acme")
    first = services.store.tenants.create_credentials("acme")
    second = services.store.tenants.create_credentials("acme")
    with services.db.reading() as session:
        hashes = session.scalars(sa.select(Credential.secret_hash)).all()
    assert len(hashes) == 2
    for stored in hashes:
        assert first.client_secret not in stored
        assert second.client_secret not in stored
        assert stored.startswith("scrypt$")
    assert hashes[0].split("$")[4] != hashes[1].split("$")[4]  # different salts


def test_duplicate_tenant_conflicts_and_bad_names_are_refused(services: Services) -> None:
    services.store.tenants.create("acme")
    with pytest.raises(Conflict):
        services.store.tenants.create("acme")
    for bad in ["", "a b", "x/y", "a" * 65]:
        with pytest.raises(InvalidInput):
            services.store.tenants.create(bad)
    assert [t.name for t in services.store.tenants.all()] == ["acme"]


def test_credentials_for_unknown_tenant_or_revoke_unknown_client(services: Services) -> None:
    with pytest.raises(NotFound):
        services.store.tenants.create_credentials("ghost")
    with pytest.raises(NotFound):
        services.store.tenants.revoke_credentials("ghost-123")
