"""Message chains: the outermost message first, inner causes in brackets.

`chain("Failed to start environment", "An environment has already been started
for the configuration")` gives the SPEC's
`Failed to start environment [An environment has already been started for the configuration]`.
"""

from __future__ import annotations


def chain(outer: str, *causes: str) -> str:
    """Nest each cause in brackets inside the one before it."""
    text = ""
    for cause in reversed([c for c in causes if c]):
        text = f"{cause} [{text}]" if text else cause
    return f"{outer} [{text}]" if text else outer


def then(first: str, second: str) -> str:
    """Two failures in sequence: `Unable to import model [x] Error while stopping environment`."""
    return f"{first} {second}" if second else first
