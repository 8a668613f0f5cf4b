"""Safe Markdown: an article's body rendered to HTML with raw HTML off and an allow-list of tags and link schemes.

One rule for every place that shows an article: the knowledge service's `body_html` and the console's preview
of a draft being written (so what a writer previews is what agents will read).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

# raw HTML in the Markdown is not rendered at all; what markdown-it makes is then cleaned by an allow-list
MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "h1", "h2", "h3", "h4", "blockquote", "code", "pre", "hr"}
    | {"a", "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}}


def render_markdown(body: str) -> str:
    """The article's HTML: Markdown rendered, then only allow-listed tags and http(s)/mailto/tel links kept."""
    html = MARKDOWN.render(body)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )
