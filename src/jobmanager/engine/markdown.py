"""`%md` as Zeppelin renders it: flexmark with the extensions Zeppelin's markdown
interpreter turns on, emulated on markdown-it-py.

Zeppelin (`FlexmarkParser`) parses CommonMark with strikethrough, tables, autolinks, wiki
links, typographic quotes and dashes, and emoji, renders a soft line break as `<br />`,
and wraps the HTML in `<div class="markdown-body">`. Before parsing it drops `<script>`,
`<object>`, `<iframe>` and `<embed>` elements and `onclick` attributes. What this module
does not reproduce is listed in docs/engine.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Delimiter
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from jobmanager.engine.autolink import link_spans

_UNSAFE = [re.compile(rf"<{tag}>(.*)</{tag}>") for tag in ("script", "object", "iframe", "embed")]
_ONCLICK = re.compile(r"onclick=[\"'](.*)[\"']")
# Flexmark's typographic extension: quote pairs and what an unmatched one becomes.
_QUOTES = {
    "'": ("&lsquo;", "&rsquo;", "&rsquo;"),
    '"': ("&ldquo;", "&rdquo;", None),
    "<": ("&laquo;", "&raquo;", None),  # `<<` and `>>`, paired under one marker
}
_SMARTS = (("...", "&hellip;"), (". . .", "&hellip;"), ("---", "&mdash;"), ("--", "&ndash;"))
_WIKI_ESCAPES = str.maketrans({c: "-" for c in " +/<>"} | {"#": "%23"})
TYPOGRAPHIC = "typographic"  # a token rendered as its content, unescaped


def sanitize(text: str) -> str:
    """What Zeppelin's `Markdown.sanitizeInput` removes before rendering."""
    for pattern in [*_UNSAFE, _ONCLICK]:
        text = pattern.sub("", text)
    return text


def _is_word(char: str) -> bool:
    return char.isalnum()


def _quotes(state: StateInline, silent: bool) -> bool:
    """`'`, `"`, `<<` and `>>` as delimiters that pair like emphasis (flexmark's
    `QuoteDelimiterProcessorBase`): a quote opens only after a non-word character and
    closes only before one."""
    start, src = state.pos, state.src
    char = src[start]
    if silent or char not in "'\"<>":
        return False
    if char in "<>":
        return _angle_quote(state, char)
    scanned = state.scanDelims(start, True)
    end = start + scanned.length
    can_open = scanned.can_open and (start == 0 or not _is_word(src[start - 1]))
    can_close = scanned.can_close and (end >= len(src) or not _is_word(src[end]))
    for _ in range(scanned.length):
        token = state.push("text", "", 0)
        token.content = char
        token.meta = {"run": scanned.length}
        state.delimiters.append(
            Delimiter(ord(char), 0, len(state.tokens) - 1, -1, can_open, can_close)
        )
    state.pos = end
    return True


def _angle_quote(state: StateInline, char: str) -> bool:
    if state.src[state.pos : state.pos + 2] != char * 2:
        return False
    token = state.push("text", "", 0)
    token.content = char * 2
    token.meta = {"run": 2}
    opens = char == "<"
    state.delimiters.append(Delimiter(ord("<"), 0, len(state.tokens) - 1, -1, opens, not opens))
    state.pos += 2
    return True


def _smarts(state: StateInline, silent: bool) -> bool:
    """`...`, `. . .`, `---` and `--` as typographic entities."""
    for text, entity in _SMARTS:
        if state.src.startswith(text, state.pos):
            if not silent:
                state.push(TYPOGRAPHIC, "", 0).content = entity
            state.pos += len(text)
            return True
    return False


def _wiki_link(state: StateInline, silent: bool) -> bool:
    """`[[page]]` and `[[text|page]]`: a link to the page name, spaces as dashes."""
    src, start = state.src, state.pos
    if not src.startswith("[[", start):
        return False
    end = src.find("]]", start + 2)
    inner = src[start + 2 : end] if end > 0 else ""
    if not inner or any(c in inner for c in "[]\n"):
        return False
    if not silent:
        text, _, page = inner.rpartition("|")
        page = page.strip() if text else inner
        link = state.push("link_open", "a", 1)
        link.attrs = {"href": page.translate(_WIKI_ESCAPES)}
        state.push("text", "", 0).content = text or page
        state.push("link_close", "a", -1)
    state.pos = end + 2
    return True


def _pair_quotes(state: StateInline) -> None:
    """After delimiters are balanced: pairs become typographic quotes, an unmatched lone
    `'` an apostrophe; other unmatched quotes stay as typed."""
    nested = [m["delimiters"] for m in state.tokens_meta if m and "delimiters" in m]
    for delimiters in [state.delimiters, *nested]:
        _replace_quotes(state.tokens, delimiters)


def _replace_quotes(tokens: list[Token], delimiters: Sequence[Delimiter]) -> None:
    for delimiter in delimiters:
        quotes = _QUOTES.get(chr(delimiter.marker))
        token = tokens[delimiter.token]
        if quotes is None or token.type != "text":
            continue  # not a quote, or the closing half of a pair already replaced
        opening, closing, unmatched = quotes
        if delimiter.end >= 0:
            token.type, token.content = TYPOGRAPHIC, opening
            tokens[delimiters[delimiter.end].token].type = TYPOGRAPHIC
            tokens[delimiters[delimiter.end].token].content = closing
        elif unmatched and token.meta.get("run") == 1:
            token.type, token.content = TYPOGRAPHIC, unmatched


def _entities(state: Any) -> None:
    """Keep an entity as written (`&copy;`), as flexmark does, instead of its character."""
    for block in state.tokens:
        for token in block.children or []:
            if token.type == "text_special" and token.info == "entity":
                token.type, token.content = TYPOGRAPHIC, token.markup


def _autolinks(state: Any) -> None:
    """Bare URLs, `www.` addresses and e-mail addresses outside links become links."""
    for block in state.tokens:
        if block.type == "inline" and block.children:
            block.children = _link_children(block.children)


def _link_children(children: list[Token]) -> list[Token]:
    result: list[Token] = []
    depth = 0
    for token in children:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
        if token.type != "text" or depth > 0:
            result.append(token)
            continue
        result.extend(_linked(token.content))
    return result


def _linked(text: str) -> list[Token]:
    tokens: list[Token] = []
    done = 0
    for begin, end, href in link_spans(text):
        tokens.append(_text(text[done:begin]))
        link = Token("link_open", "a", 1)
        link.attrs = {"href": href}
        tokens += [link, _text(text[begin:end]), Token("link_close", "a", -1)]
        done = end
    tokens.append(_text(text[done:]))
    return [t for t in tokens if t.type != "text" or t.content]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _render_raw(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return tokens[idx].content


def _cell_open(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """`<th align="left">`, as flexmark writes an aligned cell."""
    token = tokens[idx]
    match = re.search(r"text-align:(\w+)", str(token.attrs.get("style", "")))
    return f'<{token.tag} align="{match.group(1)}">' if match else f"<{token.tag}>"


def _code_inline(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """A code span with its whitespace trimmed and collapsed, as flexmark writes it."""
    return f"<code>{escapeHtml(' '.join(tokens[idx].content.split()))}</code>"


def _fixed(html: str) -> Any:
    return lambda renderer, tokens, idx, options, env: html


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"breaks": True}).enable(["table", "strikethrough"])
    for char in "'\".":
        md.inline.add_terminator_char(char)
    md.inline.ruler.before("emphasis", "zeppelin_quotes", _quotes)
    md.inline.ruler.before("emphasis", "zeppelin_smarts", _smarts)
    md.inline.ruler.before("link", "zeppelin_wiki_link", _wiki_link)
    md.inline.ruler2.before("fragments_join", "zeppelin_quotes", _pair_quotes)
    md.core.ruler.before("text_join", "zeppelin_entities", _entities)
    md.core.ruler.after("text_join", "zeppelin_autolinks", _autolinks)
    fixed = {"s_open": "<del>", "s_close": "</del>", "tr_open": "<tr>", "tr_close": "</tr>\n"}
    fixed |= {"th_close": "</th>", "td_close": "</td>"}
    for name, html in fixed.items():
        md.add_render_rule(name, _fixed(html))
    md.add_render_rule(TYPOGRAPHIC, _render_raw)
    md.add_render_rule("code_inline", _code_inline)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    return md


_MARKDOWN = _build()


def render(text: str) -> str:
    """The HTML Zeppelin's `%md` gives for `text`, in its `markdown-body` wrapper."""
    html = _MARKDOWN.render(sanitize(text))
    return f'<div class="markdown-body">\n{html}\n</div>'
