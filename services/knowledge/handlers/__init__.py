"""The knowledge service's use cases by who acts: writers and reviewers (workflow), agents and the center (loop)."""

from services.knowledge.handlers.errors import StepRefused
from services.knowledge.handlers.loop import (
    count_need,
    give_feedback,
    import_article,
    search,
    stale_before,
    submit_need,
)
from services.knowledge.handlers.workflow import (
    ArticleView,
    Context,
    add_file,
    create_article,
    edit_draft,
    list_versions,
    own_scope,
    read_file,
    relation,
    take_step,
    version_fields,
    version_of,
    view_article,
)

__all__ = [
    "ArticleView",
    "Context",
    "StepRefused",
    "add_file",
    "count_need",
    "create_article",
    "edit_draft",
    "give_feedback",
    "import_article",
    "list_versions",
    "own_scope",
    "read_file",
    "relation",
    "search",
    "stale_before",
    "submit_need",
    "take_step",
    "version_fields",
    "version_of",
    "view_article",
]
