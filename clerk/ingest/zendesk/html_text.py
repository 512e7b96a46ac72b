"""Zendesk ``html_body`` -> plain text, with the standard library's HTML parser.

Block elements (paragraphs, list items, headings, line breaks, table rows) become line breaks;
runs of whitespace inside text collapse to one space, as a browser shows them, except inside
``<pre>``; ``<script>`` and ``<style>`` contents are dropped; entities are decoded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
     "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
     "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"}
)  # fmt: skip
_SKIP = frozenset({"script", "style", "head", "title"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_PRE_SPACE = "\x00"


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0

    def _newline(self) -> None:
        self.parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self._newline()
        elif tag in _BLOCKS:
            self._newline()
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self._newline()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        # Spaces inside <pre> are content: hide them from the line trimming below.
        self.parts.append(data.replace(" ", _PRE_SPACE) if self.pre else _SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The text a reader sees in ``html``: one line per block, at most one blank line between."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    # A no-break space (&nbsp;) reads as a space; searching and quoting treat it as one.
    joined = "".join(parser.parts).replace("\xa0", " ")
    lines = [line.strip(" ") for line in joined.split("\n")]
    text = "\n".join(lines).replace(_PRE_SPACE, " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
