from django import forms


class BootstrapFormMixin:
    """Adds Bootstrap classes to widgets and marks invalid fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                continue
            css = (
                "form-select"
                if isinstance(widget, (forms.Select, forms.SelectMultiple))
                else "form-control"
            )
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        # Marked after validation, not in __init__: reading ``errors`` there validated the
        # form before formsets add their DELETE/ORDER fields (so deletions were ignored).
        super().full_clean()
        for name in self._errors or ():
            field = self.fields.get(name)
            if field is None or isinstance(field.widget, forms.CheckboxInput):
                continue
            css = field.widget.attrs.get("class", "")
            if "is-invalid" not in css.split():
                field.widget.attrs["class"] = (css + " is-invalid").strip()


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(**kwargs)
