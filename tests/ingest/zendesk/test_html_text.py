"""``html_body`` -> text as a reader sees it (stdlib HTML parser)."""

from __future__ import annotations

import pytest

from clerk.ingest.tickets import comment_text
from clerk.ingest.zendesk.html_text import html_to_text

CASES = [
    ('<div class="zd-comment" dir="auto"><p dir="auto">We closed the April books in '
     "<strong>six days</strong>, down from nine.</p><p dir=\"auto\">Tom</p></div>",
     "We closed the April books in six days, down from nine.\n\nTom"),
    ("Line one<br>Line two<br/>Line three", "Line one\nLine two\nLine three"),
    ("<p>Fish &amp; chips&nbsp;&lt;3 &#8364;5</p>", "Fish & chips <3 €5"),
    ("<ul><li>first</li><li>second</li></ul>", "first\n\nsecond"),
    ("<p>kept</p><script>alert('x')</script><style>p {color: red}</style>", "kept"),
    ("<p>  spread\n   over\tlines  </p>", "spread over lines"),
    ("<pre>  a\n    b</pre>", "  a\n    b"),
    ("<table><tr><td>Days</td><td>6</td></tr></table>", "Days 6"),
    ("no markup at all", "no markup at all"),
    ("<p>unclosed <b>bold", "unclosed bold"),
]  # fmt: skip


@pytest.mark.parametrize(("html", "text"), CASES)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_comment_text_prefers_plain_body_then_body_then_html() -> None:
    assert comment_text({"plain_body": "plain", "body": "body", "html_body": "<p>h</p>"}) == "plain"
    assert comment_text({"plain_body": None, "body": "body", "html_body": "<p>h</p>"}) == "body"
    assert comment_text({"plain_body": None, "body": None, "html_body": "<p>h</p>"}) == "h"
    assert comment_text({}) == ""
