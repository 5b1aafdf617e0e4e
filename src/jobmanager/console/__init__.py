"""The web console: server-rendered pages (Jinja2, htmx, Server-Sent Events) over the
same store, dependencies and rules as the API. See docs/console.md."""
