"""`%md` rendering, checked against what Zeppelin's flexmark setup gives."""

from __future__ import annotations

import pytest

from jobmanager.engine.autolink import link_spans
from jobmanager.engine.markdown import render


def body(html: str) -> str:
    prefix, suffix = '<div class="markdown-body">\n', "\n</div>"
    assert html.startswith(prefix) and html.endswith(suffix)
    return html[len(prefix) : -len(suffix)]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("one\ntwo", "<p>one<br />\ntwo</p>\n"),
        (
            "it's 'quoted' and \"double\"",
            "<p>it&rsquo;s &lsquo;quoted&rsquo; and &ldquo;double&rdquo;</p>\n",
        ),
        ('a "lone quote', "<p>a &quot;lone quote</p>\n"),
        ("a -- b --- c... d . . . e", "<p>a &ndash; b &mdash; c&hellip; d &hellip; e</p>\n"),
        ("<<angle>>", "<p>&laquo;angle&raquo;</p>\n"),
        ("`it's  --  code`", "<p><code>it's -- code</code></p>\n"),
        ("~~gone~~", "<p><del>gone</del></p>\n"),
        ("&copy; &amp;", "<p>&copy; &amp;</p>\n"),
        (
            "[[Page Name]] [[label|target/page]]",
            '<p><a href="Page-Name">Page Name</a> <a href="target-page">label</a></p>\n',
        ),
        ("<script>alert(1)</script>ok", "<p>ok</p>\n"),
        ('<b onclick="x()">b</b>', "<p><b >b</b></p>\n"),
    ],
)
def test_inline_rendering_matches_flexmark(text: str, html: str) -> None:
    assert body(render(text)) == html


def test_tables_are_written_as_flexmark_writes_them() -> None:
    html = body(render("| a | b |\n|:---|---:|\n| 1 | 2 |"))
    assert html == (
        "<table>\n<thead>\n"
        '<tr><th align="left">a</th><th align="right">b</th></tr>\n'
        "</thead>\n<tbody>\n"
        '<tr><td align="left">1</td><td align="right">2</td></tr>\n'
        "</tbody>\n</table>\n"
    )


def test_bare_links_are_linked_outside_links_only() -> None:
    html = body(render("see http://a.org/x_(y). or www.b.org, [http://c.org](http://d.org)"))
    assert html == (
        '<p>see <a href="http://a.org/x_(y)">http://a.org/x_(y)</a>. or '
        '<a href="http://www.b.org">www.b.org</a>, '
        '<a href="http://d.org">http://c.org</a></p>\n'
    )


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("spark://HOST:PORT", ["spark://HOST:PORT"]),
        ("(http://x.org/a)", ["http://x.org/a"]),
        ('"http://x.org/a"', ["http://x.org/a"]),
        ("1abc://x.org no", []),
        ("www.example only", []),
        ("a.www.example.org", []),
        ("mail first.last@mail.example.com.", ["mailto:first.last@mail.example.com"]),
        ("user@localhost", []),
        ("trailing http://", ["http://"]),
        ("http://x.org/path/ and more", ["http://x.org/path/"]),
    ],
)
def test_link_rules_of_the_autolink_library(text: str, links: list[str]) -> None:
    assert [href for _, _, href in link_spans(text)] == links
