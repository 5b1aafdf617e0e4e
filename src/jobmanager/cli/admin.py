"""`jobmanager admin`: tenants, API credentials and the key of webhook secrets, for the
operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from jobmanager.cli.common import console, fail, load_settings, open_services
from jobmanager.domain.errors import DomainError

if TYPE_CHECKING:
    from jobmanager.startup.services import Services

app = typer.Typer(help="Manage tenants, credentials and keys.", no_args_is_help=True)
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
    """List the tenants and their caps on live jobs."""
    services = _services()
    default = services.settings.tenant_max_live_jobs
    table = Table("name", "created", "max live jobs")
    for tenant in services.store.tenants.all():
        table.add_row(
            tenant.name, tenant.created_at.isoformat(), _cap(tenant.max_live_jobs, default)
        )
    console.print(table)


@tenant_app.command("cap")
def tenant_cap(
    name: str,
    max_live_jobs: Annotated[
        int | None,
        typer.Option("--max-live-jobs", min=1, help="Jobs the tenant may run at once"),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Back to JOBMANAGER_TENANT_MAX_LIVE_JOBS")
    ] = False,
) -> None:
    """Cap the jobs a tenant may have live at once (starting, running, stopping); its
    other jobs wait, saying so, and other tenants' jobs go first (docs/queues.md)."""
    if (max_live_jobs is None) == (not default):
        raise fail("give either --max-live-jobs N or --default")
    services = _services()
    try:
        tenant = services.store.tenants.set_cap(name, max_live_jobs)
    except DomainError as error:
        raise fail(error.message) from None
    shown = _cap(tenant.max_live_jobs, services.settings.tenant_max_live_jobs)
    console.print(f"tenant [bold]{tenant.name}[/bold]: at most {shown} live jobs")


def _cap(own: int | None, default: int | None) -> str:
    if own is not None:
        return str(own)
    return "no cap" if default is None else f"{default} (default)"


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


@app.command("rotate-webhook-key")
def rotate_webhook_key() -> None:
    """Seal every webhook secret with a new key (keys/webhook-secrets.key in the home).
    The previous key stays in the file until the next rotation, so a replica that has
    not read the new file yet still opens what it finds; copy the file to every replica
    that does not share this home's keys folder."""
    services = _services()
    try:
        box = services.store.webhooks.box
        box.rotate()
        resealed = services.store.webhooks.reseal_secrets()
    finally:
        services.close()
    console.print(f"sealed {resealed} webhook secrets with a new key in {box.path}", soft_wrap=True)
