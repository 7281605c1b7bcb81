"""The merged form as the API answers it (contract: checksum, sections with fields carrying their
prefill, materials held / to upload / issued within the case)."""

from __future__ import annotations

import msgspec

from app.forms.models import HeldMaterial, ItemChoice, MaterialNeed, MaterialToUpload, Option, Prefill


class FieldAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    key: str
    label: str
    type: str
    required: bool
    prefill: Prefill | None = None
    options: list[Option] | None = None
    help: str | None = None
    max_length: int | None = None


class SectionAnswer(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    title: str
    fields: list[FieldAnswer]


class MaterialsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    held: list[HeldMaterial]
    to_upload: list[MaterialToUpload]  # to upload, or awaiting the consent of the person they are about
    issued_in_case: list[MaterialNeed]


class FormAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    life_event: str  # the life event, or a single item's one-item bundle (its code is the item's)
    checksum: str
    sections: list[SectionAnswer]
    materials: MaterialsAnswer
    # The items this form files: each required or optional, chosen or not, and why the registers pre-tick it.
    items: list[ItemChoice] = msgspec.field(default_factory=list[ItemChoice])
    item: str | None = None  # set when the form is one service item's, applied for on its own


class StepCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One step of the merged form before 下一步: the answers so far and the keys of that step's fields."""

    fields: list[str]
    data: dict[str, str | bool | None]


class StepProblems(msgspec.Struct, frozen=True, kw_only=True):
    """That step's errors by field key, as a submission would give them; empty when it may move on."""

    errors: dict[str, str]
