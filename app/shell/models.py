from __future__ import annotations

from typing import Literal

import msgspec


class ManifestIcon(msgspec.Struct, frozen=True, kw_only=True):
    src: str
    sizes: str
    type: str
    purpose: str = "any"


class ManifestShortcut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """The web app manifest (W3C Web Application Manifest), served at /manifest.webmanifest."""

    id: str
    name: str
    short_name: str
    description: str
    lang: str
    dir: str
    start_url: str
    scope: str
    display: str
    orientation: str
    theme_color: str
    background_color: str
    categories: list[str]
    icons: list[ManifestIcon]
    shortcuts: list[ManifestShortcut]


class Display(msgspec.Struct, frozen=True, kw_only=True):
    """How pages are drawn for this device and account: 长辈版 and its text size step (0: 24 px … 4: 40 px), and
    the language."""

    elder: bool
    text_step: int
    language: str = "zh"

    @property
    def key(self) -> str:
        """Everything here a page drawn once may be kept under (a cache key, part of an ETag)."""
        return f"{self.elder}:{self.text_step}:{self.language}"


class PreferencesBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    elder_mode: bool | None = None  # None: as it is
    text_step: int | None = None
    language: Literal["zh", "en"] | None = None  # None: as it is


class Preferences(msgspec.Struct, frozen=True, kw_only=True):
    elder_mode: bool
    text_step: int
    language: str
