"""`jobmanager webhooks`: receivers of job events, and what was delivered to them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobmanager.cli.login import session
from jobmanager.cli.output import JsonOption, print_json, print_table, say, show_resource
from jobmanager.client import Webhook

app = typer.Typer(
    help="Webhooks: signed HTTP POSTs when jobs start, succeed, fail, stop or run long.",
    no_args_is_help=True,
)
EVENTS = "started, succeeded, failed, stopped, longerThan"


@app.command("create")
def create(
    url: str,
    event: Annotated[
        list[str], typer.Option("--event", "-e", help=f"Repeat for each event: {EVENTS}")
    ],
    name: Annotated[str | None, typer.Option(help="A name to tell it by")] = None,
    longer_than: Annotated[
        int | None, typer.Option(help="Seconds a running job takes before `longerThan`")
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (16+ chars); made when not given")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Create a webhook. Its secret is shown now and never again."""
    with session() as api:
        made = api.create_webhook(
            url, event, name=name, longer_than_seconds=longer_than, secret=secret
        )
    if json_:
        print_json(made)
        return
    say(f"created webhook {made.id} for {', '.join(made.events)} to {made.url}")
    say(f"signing secret (shown once): {made.secret}")


@app.command("list")
def list_webhooks(json_: JsonOption = False) -> None:
    """List the webhooks."""
    with session() as api:
        webhooks = list(api.iter_webhooks())
    if json_:
        print_json(webhooks)
        return
    print_table(
        ("id", "name", "url", "events", "created"),
        ((w.id, w.name, w.url, ", ".join(w.events), w.creation_date) for w in webhooks),
        "no webhooks",
    )


def _fields(webhook: Webhook) -> list[tuple[str, Any]]:
    return [
        ("id", webhook.id),
        ("name", webhook.name),
        ("url", webhook.url),
        ("events", ", ".join(webhook.events)),
        ("longer than", f"{webhook.longer_than_seconds} s" if webhook.longer_than_seconds else ""),
        ("created", webhook.creation_date),
        ("created by", webhook.created_by),
    ]


@app.command("show")
def show(webhook_id: str, json_: JsonOption = False) -> None:
    """Show one webhook."""
    with session() as api:
        show_resource(api.get_webhook(webhook_id), json_, _fields)


@app.command("delete")
def delete(webhook_id: str) -> None:
    """Delete a webhook and its delivery log."""
    with session() as api:
        api.delete_webhook(webhook_id)
    say(f"deleted webhook {webhook_id}")


@app.command("deliveries")
def deliveries(webhook_id: str, json_: JsonOption = False) -> None:
    """List a webhook's deliveries, newest first, with how their attempts went."""
    with session() as api:
        found = list(api.iter_deliveries(webhook_id))
    if json_:
        print_json(found)
        return
    print_table(
        ("id", "event", "job", "status", "attempts", "last", "created"),
        (
            (
                d.id,
                d.event,
                d.job_id,
                d.status,
                d.attempts,
                d.last_status_code or d.last_error,
                d.creation_date,
            )
            for d in found
        ),
        "no deliveries",
    )
