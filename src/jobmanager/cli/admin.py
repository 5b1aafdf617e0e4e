"""`jobmanager admin`: tenants and API credentials, for the operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from jobmanager.cli.common import console, fail, load_settings, open_services
from jobmanager.domain.errors import DomainError

if TYPE_CHECKING:
    from jobmanager.services import Services

app = typer.Typer(help="Manage tenants and credentials.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
credentials_app = typer.Typer(help="API credentials (client id and secret).", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(credentials_app, name="credentials")


def _services() -> Services:
    return open_services(load_settings())


@tenant_app.command("create")
def tenant_create(name: str) -> None:
    """Create a tenant."""
    try:
        tenant = _services().store.tenants.create(name)
    except DomainError as error:
        raise fail(error.message) from None
    console.print(f"created tenant [bold]{tenant.name}[/bold]")


@tenant_app.command("list")
def tenant_list() -> None:
    """List the tenants."""
    table = Table("name", "created")
    for tenant in _services().store.tenants.all():
        table.add_row(tenant.name, tenant.created_at.isoformat())
    console.print(table)


@credentials_app.command("create")
def credentials_create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name")],
) -> None:
    """Make credentials for a tenant. The secret is shown once and stored only hashed."""
    try:
        made = _services().store.tenants.create_credentials(tenant)
    except DomainError as error:
        raise fail(error.message) from None
    console.print(f"client id:     {made.client_id}")
    console.print(f"client secret: {made.client_secret}")
    console.print("[yellow]Keep the secret now: it cannot be shown again.[/yellow]")


@credentials_app.command("list")
def credentials_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's")] = None,
) -> None:
    """List credentials (never their secrets)."""
    table = Table("client id", "tenant", "created", "revoked")
    for item in _services().store.tenants.list_credentials(tenant):
        revoked = item.revoked_at.isoformat() if item.revoked_at else ""
        table.add_row(item.client_id, item.tenant, item.created_at.isoformat(), revoked)
    console.print(table)


@credentials_app.command("revoke")
def credentials_revoke(client_id: str) -> None:
    """Revoke credentials: tokens issued to them stop working within seconds."""
    try:
        _services().store.tenants.revoke_credentials(client_id)
    except DomainError as error:
        raise fail(error.message) from None
    console.print(f"revoked {client_id}")
