"""Languages of the console: Babel catalogs (zh-CN default, English), the chosen locale, dates and durations."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
LOCALE_DIR = Path(__file__).parent / "locale"


def load_catalogs(folder: Path = LOCALE_DIR) -> dict[str, NullTranslations]:
    """Each locale's messages.po compiled in memory (no build step); English is the msgids themselves."""
    catalogs: dict[str, NullTranslations] = {"en": NullTranslations()}
    for locale in LOCALES:
        po = folder / locale / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[locale] = Translations(buffer)
    return catalogs


def choose_locale(chosen: str | None, accept_language: str | None, default: str = "zh_CN") -> str:
    """The user's own choice, else the browser's Accept-Language, else the default (zh-CN)."""
    if chosen in LOCALES:
        return chosen
    if accept_language:
        wanted = []
        for part in accept_language.split(","):
            tag = part.split(";", 1)[0].strip().replace("-", "_")
            if tag and tag != "*":
                wanted.append(tag)
        found = negotiate_locale(wanted, list(LOCALES), sep="_", aliases={"zh": "zh_CN", "en": "en"})
        if found:
            return found
        # en_GB, zh_Hans_CN...: match on the language alone
        for tag in wanted:
            for locale in LOCALES:
                if tag.split("_")[0].lower() == locale.split("_")[0].lower():
                    return locale
    return default


@dataclass(frozen=True)
class Language:
    """What a page needs to speak one language: the catalog, the locale, the branch's zone."""

    code: str
    translations: NullTranslations
    zone: tzinfo

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.code == "zh_CN" else "en"

    def when(self, instant: datetime | str | None) -> str:
        """An instant in the branch's zone with its offset, in this language (`2026年3月9日 08:00 +08:00`)."""
        if instant is None:
            return "–"
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        local = instant.astimezone(self.zone)
        text = format_datetime(local, "medium", tzinfo=self.zone, locale=Locale.parse(self.code))
        offset = local.strftime("%z")
        return f"{text} {offset[:3]}:{offset[3:]}"

    def duration(self, span: timedelta) -> str:
        return format_timedelta(span, granularity="minute", threshold=1.1, locale=Locale.parse(self.code))
