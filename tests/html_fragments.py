"""Read an HTML fragment the way a browser would build it: elements, text, tables, frames.

Tests of rendered outputs assert on what a reader sees (the text, a table's cells, a
frame's document) and on what could run (script elements, event handler attributes),
not on the markup's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"br", "img", "input", "meta", "hr", "link", "source", "col", "area", "base", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self, tag: str | None = None) -> list[Element]:
        """This element's descendants (itself first) with `tag`, in document order."""
        found = [self] if tag in (None, self.tag) else []
        for child in self.children:
            if isinstance(child, Element):
                found += child.iter(tag)
        return found

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.iter() if name in e.attrs.get("class", "").split()]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#fragment", {})
        self.open: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def table_cells(table: Element) -> list[list[str]]:
    """The table's rows (header first) as the texts of their cells, spaces collapsed as a
    browser shows them."""
    return [
        [" ".join(cell.text.split()) for cell in row.children if isinstance(cell, Element)]
        for row in table.iter("tr")
    ]


def active_content(root: Element) -> list[str]:
    """What could run in the page itself: scripts, handlers, javascript: links, open frames."""
    found = [f"<{e.tag}>" for e in root.iter() if e.tag in ("script", "object", "embed")]
    for element in root.iter():
        found += [f"{element.tag}[{n}]" for n in element.attrs if n.startswith("on")]
        found += [
            f"{element.tag}[{n}={v}]"
            for n, v in element.attrs.items()
            if v.strip().lower().startswith("javascript:")
        ]
        if element.tag == "iframe" and "allow-scripts" in element.attrs.get(
            "sandbox", "allow-scripts"
        ):
            found.append("iframe without a script-free sandbox")
    return found
