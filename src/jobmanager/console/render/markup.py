"""The few HTML pieces every renderer builds: escaped text, a sandboxed frame, a notice."""

from __future__ import annotations

from html import escape

# Inside a frame nothing is fetched from the network (no tracking pixels, no leaks of who
# looked at an output when): images and fonts only from the document itself.
_FRAME_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "form-action 'none'"
)
_FRAME_STYLE = """
body { margin: 0; padding: 0.25rem; font: 14px/1.45 system-ui, sans-serif; color: #1b1f24;
  overflow-wrap: anywhere; }
img, svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 0.2rem 0.5rem; }
pre { white-space: pre-wrap; margin: 0; }
"""


def text(value: object) -> str:
    """`value` as escaped text, quotes included (safe in an element and in an attribute)."""
    return escape(value if isinstance(value, str) else str(value), quote=True)


def sandboxed_frame(body: str, title: str, css: str = "", extra_class: str = "") -> str:
    """`body` (untrusted HTML) as a frame's own document, where it can run no script.

    The frame's `sandbox` grants `allow-same-origin` only: without `allow-scripts` nothing
    in it runs (no script, no handler, no form, no pop-up, no navigation of the console),
    and being same-origin lets the console's own script read the document's height to
    size the frame to its content (`render.js`). `srcdoc` keeps it one request.
    """
    document = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_FRAME_POLICY}">'
        f"<style>{_FRAME_STYLE}{css}</style></head><body>{body}</body></html>"
    )
    classes = f"rendered-frame {extra_class}".strip()
    return (
        f'<iframe class="{classes}" sandbox="allow-same-origin" referrerpolicy="no-referrer" '
        f'title="{text(title)}" srcdoc="{text(document)}"></iframe>'
    )


def counted(number: int, noun: str) -> str:
    """ "1 row", "2 rows": a count with its noun (nouns taking an s only)."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def notice(message: str) -> str:
    """A sentence saying why a file is not shown."""
    return f'<p class="render-notice" role="note">{text(message)}</p>'
