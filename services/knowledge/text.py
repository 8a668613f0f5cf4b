"""Article text: safe Markdown rendering, plain text, Chinese segmentation with the gas terms, synonyms, diffs."""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import nh3

from shared.markdown import MARKDOWN as _MARKDOWN
from shared.markdown import render_markdown as render_markdown  # one rule, shared with the console's preview

DATA_DIR = Path(__file__).parent / "data"
GAS_TERMS = DATA_DIR / "gas_terms.txt"
SYNONYMS = DATA_DIR / "synonyms.toml"

# --------------------------------------------------------------------------- Markdown


def plain_text(body: str) -> str:
    """The article's words without markup (what search indexes and snippets show)."""
    text = nh3.clean(_MARKDOWN.render(body), tags=set())
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text).strip()


def snippet(text: str, length: int = 120) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# --------------------------------------------------------------------------- diffs


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any], old_label: str, new_label: str) -> dict[str, Any]:
    """A readable diff of two versions: the fields that changed, and a unified diff of title and body lines."""

    def lines(version: Mapping[str, Any]) -> list[str]:
        return [f"# {version['title']}", "", *str(version["body"]).splitlines()]

    changed = [name for name in ("title", "body", "category", "subtype", "tags", "review_by") if old[name] != new[name]]
    unified = list(difflib.unified_diff(lines(old), lines(new), old_label, new_label, lineterm=""))
    ratio = difflib.SequenceMatcher(a="\n".join(lines(old)), b="\n".join(lines(new))).ratio()
    return {"changed_fields": changed, "unified": "\n".join(unified), "similarity": round(ratio, 3)}


# --------------------------------------------------------------------------- segmentation

# Question words and particles that every caller says and that tell no article from another.
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 么 嘛 是 在 有 和 与 及 或 我 你 他 她 我们 我家 家里 家 这 那 这个 那个 "
    "怎么 怎么办 怎样 怎么样 如何 什么 为什么 为啥 咋 咋办 哪里 哪儿 哪个 多少 多久 几天 "
    "能 能不能 可以 可不可以 要 需要 应该 一下 请问 "
    "用户 客户 来电 反映 就 也 都 还 又 会 把 被 让 给 对 从 到 去 来 说 问 想 "
    "一个 一直 没有 不能 不了 老是 总是 突然 现在".split()
)
_WORD = re.compile(r"\w", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), lower case, single spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def ngrams(text: str) -> list[str]:
    """Characters and character bigrams of each run of word characters: what the typo fallback matches."""
    grams: list[str] = []
    for run in re.findall(r"\w+", normalise(text)):
        grams.extend(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def gram_overlap(query: set[str], document: set[str]) -> tuple[float, float]:
    """The share of the query's characters and of its bigrams that the document has."""
    chars = {g for g in query if len(g) == 1}
    pairs = query - chars
    char_share = len(chars & document) / len(chars) if chars else 0.0
    pair_share = len(pairs & document) / len(pairs) if pairs else 1.0
    return char_share, pair_share


@dataclass(frozen=True)
class Synonyms:
    """Groups of words that mean the same (煤气/燃气); a query word brings its whole group."""

    groups: tuple[frozenset[str], ...] = ()

    def expand(self, words: Iterable[str]) -> list[str]:
        out: list[str] = []
        for word in words:
            for candidate in (word, *self._alternatives(word)):
                if candidate not in out:
                    out.append(candidate)
        return out

    def _alternatives(self, word: str) -> list[str]:
        found: list[str] = []
        for group in self.groups:
            if word in group:
                found.extend(sorted(group - {word}))
                continue
            # a group's word inside a longer one: 煤气表 -> 燃气表
            for member in group:
                if len(member) >= 2 and member in word and member != word:
                    found.extend(word.replace(member, other) for other in sorted(group - {member}) if len(other) >= 2)
                    break
        return found


def load_synonyms(branch: str, folders: Sequence[Path] = ()) -> Synonyms:
    """The default groups and the branch's own, from the packaged file and then each admin folder's."""
    groups: list[frozenset[str]] = []
    for path in (SYNONYMS, *(folder / "knowledge" / "synonyms.toml" for folder in folders)):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        sections = [data.get("default", {}), data.get("branches", {}).get(branch, {})]
        for section in sections:
            for group in section.get("groups", []):
                words = frozenset(normalise(str(w)) for w in group if str(w).strip())
                if len(words) >= 2:
                    groups.append(words)
    return Synonyms(tuple(groups))


@lru_cache(maxsize=4)
def _tokenizer_for(dictionary: Path) -> Any:
    """One jieba tokenizer per dictionary per process (building its prefix dictionary takes about a second)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba prints its start-up lines through logging
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(dictionary))
    return tokenizer


@dataclass
class Segmenter:
    """jieba with the product's gas-industry dictionary, in search mode (words and their sub-words)."""

    dictionary: Path = GAS_TERMS
    stopwords: frozenset[str] = field(default=STOPWORDS)

    @property
    def _tokenizer(self) -> Any:
        return _tokenizer_for(self.dictionary)

    def words(self, text: str) -> list[str]:
        """Every searchable word of `text`, in order, repeats kept (they weigh in ranking)."""
        tokens = self._tokenizer.lcut_for_search(normalise(text))
        return [t for t in tokens if _WORD.search(t) and t.strip() and t not in self.stopwords]

    def query_words(self, text: str, synonyms: Synonyms) -> list[str]:
        """A query's distinct words, each followed by its synonyms."""
        distinct: list[str] = []
        for word in self.words(text):
            if word not in distinct:
                distinct.append(word)
        return synonyms.expand(distinct)
