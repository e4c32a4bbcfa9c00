"""Every column in the project that holds a data key wrapped by a master key.

`rotate_keys` and the start-up check must cover them all, not only reports, or removing an old
master key would make other apps' data unreadable. records cannot import the apps above it, so it
asks the app registry, as the dashboard does: a column named `wrapped_key` is found on its own;
an app whose AppConfig lists `wrapped_key_fields = [("Model", "field"), ...]` adds others (for
example messaging's `Message.body_key`).
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class WrappedKeyColumn:
    model: type[models.Model]
    field: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


def wrapped_key_columns() -> list[WrappedKeyColumn]:
    found: dict[str, WrappedKeyColumn] = {}
    for config in apps.get_app_configs():
        for model in config.get_models():
            for field in model._meta.concrete_fields:
                if field.name == "wrapped_key" and isinstance(field, models.CharField):
                    column = WrappedKeyColumn(model, field.name)
                    found[column.label] = column
        for model_name, field_name in getattr(config, "wrapped_key_fields", ()):
            column = WrappedKeyColumn(config.get_model(model_name), field_name)
            found[column.label] = column
    return sorted(found.values(), key=lambda column: column.label)
