"""A section of wmx.yaml (`turn:`, `synapse.email:`, an IRC network): a mapping of its
keys. Anything else written for it (`turn: null`, `turn:` left empty, `email: 5`) is
refused in words that name keys it takes: pydantic's own error said "a valid dictionary
or instance of TurnSettings", a class name no operator knows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from wmx.site.grammars import Strict


def example_keys(model: type[BaseModel]) -> list[str]:
    """Two of a section's keys to name in an error: `enabled` first, where it has one
    (the key a short form such as `url_previews: false` meant)."""
    names = list(model.model_fields)
    if "enabled" in names:
        names.remove("enabled")
        names.insert(0, "enabled")
    return names[:2]


class Section(Strict):
    """A strict model that is a section of wmx.yaml: its value is a mapping."""

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: Any) -> Any:
        value = cls._short_form(value)
        if isinstance(value, dict | cls):
            return value
        keys = " or ".join(example_keys(cls))
        raise ValueError(f"a section, not a single value: give its keys, such as {keys}")

    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """The mapping a shorter form of older wmx.yaml files means (none by default);
        `wmx config set` never writes one (wmx.site.config_edit)."""
        return value
