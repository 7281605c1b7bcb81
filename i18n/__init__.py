"""Languages: Chinese, the default and the legal text of record, and English for foreign residents.

Texts are written in Chinese where they are used — `_("请填写身份证号码")` in Python, `{{ _("首页") }}` in a
template — and that Chinese is the message id: `make messages` extracts every one into `locale/messages.pot`
and `locale/en/LC_MESSAGES/messages.po` holds its English. A text without a translation shows in Chinese (a test
names it). The language of the request being answered (or of the person a notice is for) is a context variable,
so a service raising an error or a template being drawn needs no parameter to say it.

A layer of its own below `auth/`, `push/` and `app/`: it imports only `config/` (nothing here today).
"""

from i18n.translate import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    N_plural,
    catalogue_fingerprint,
    current_language,
    gettext,
    gettext_in,
    html_lang,
    known_messages,
    language_from,
    ngettext,
    pgettext,
    plural_forms,
    plural_indices,
    set_language,
    use_language,
)

_ = gettext

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "N_plural",
    "_",
    "catalogue_fingerprint",
    "current_language",
    "gettext",
    "gettext_in",
    "html_lang",
    "known_messages",
    "language_from",
    "ngettext",
    "pgettext",
    "plural_forms",
    "plural_indices",
    "set_language",
    "use_language",
]
