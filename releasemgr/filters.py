"""Filter pieces shared by every FilterSet."""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 input, normalised to UTC.

    Python accepts UTC offsets up to ±24 h but PostgreSQL only ±15:59, so an
    odd offset would otherwise reach the database as given and fail there.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Date and time out of range.", code="invalid") from exc


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField
