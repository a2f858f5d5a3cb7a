"""Web views for signing in and for API tokens, plus the generic create/edit/delete
pieces the catalog and scheduling pages share."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.generic import DeleteView, DetailView, ListView, View

from releasemgr.forms import BootstrapFormMixin
from releasemgr.models import ApiToken
from releasemgr.security import LockoutFormMixin
from releasemgr.web import (
    SUBMISSION_FIELD,
    RoleRequiredMixin,
    earlier_submission,
    history_rows,
    new_submission,
    paginate,
    remember_submission,
    render_shown_once,
)

MANAGE_ALL_TOKENS = "releasemgr.manage_all_tokens"

User = get_user_model()


# --- shared pieces for model pages -------------------------------------------------------


def style_filter_form(form: forms.Form) -> forms.Form:
    """Bootstrap classes (small size) on a FilterSet's form, for the filter bar of a list.

    Empty choices read "Any" rather than "---------" or "Unknown".
    """
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.NullBooleanSelect):
            widget.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]
        elif hasattr(field, "empty_label"):  # model choices, and django-filter's choices
            field.empty_label = "Any"
            widget.choices = field.choices  # the widget copied the old label
        elif isinstance(field, forms.ChoiceField):
            field.choices = [
                ("", "Any") if value == "" else (value, label) for value, label in field.choices
            ]
        if isinstance(widget, forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(widget, (forms.Select, forms.SelectMultiple)) else ""
        css = css or "form-control"
        widget.attrs["class"] = f"{css} {css}-sm"
    return form


def _list_link(model, url_name: str | None) -> dict:
    return {
        "list_url": reverse(url_name) if url_name else None,
        "verbose_name_plural": model._meta.verbose_name_plural,
    }


class ModelFormSaveMixin:
    """Create/update views: save inside a transaction with the change recorded in history.

    The form may carry an optional ``change_reason`` field; it becomes the
    history row's reason. ``prepare(obj)`` lets a view set fields the form does
    not own (e.g. ``created_by``).
    """

    template_name = "catalog/object_form.html"
    cancel_url = None
    list_url_name: str | None = None  # for the breadcrumb

    def prepare(self, obj) -> None:
        """Hook: set fields the form does not own before the first save."""

    def form_valid(self, form):
        creating = form.instance.pk is None
        with transaction.atomic():
            obj = form.save(commit=False)
            self.prepare(obj)
            reason = form.cleaned_data.get("change_reason") or ("Created" if creating else "")
            obj.save_with_reason(reason, self.request.user)
            form.save_m2m()
        verbose = obj._meta.verbose_name
        messages.success(
            self.request, f"{verbose.capitalize()} “{obj}” {'created' if creating else 'saved'}."
        )
        self.object = obj
        return redirect(obj.get_absolute_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        model = self.model
        obj = getattr(self, "object", None)
        context["verbose_name"] = model._meta.verbose_name
        context["is_create"] = obj is None or obj.pk is None
        context["cancel_url"] = obj.get_absolute_url() if obj and obj.pk else self.cancel_url
        context.update(_list_link(model, self.list_url_name))
        return context


def describe_protected(exc: ProtectedError, limit: int = 5) -> tuple[int, list[str]]:
    """How many records block a delete, and the names of the first few.

    A release's link row (ReleaseService) is named by its release, which is
    what a person recognises.
    """
    names = []
    for obj in exc.protected_objects:
        target = getattr(obj, "release", None) or obj
        label = str(target)
        if label not in names:
            names.append(label)
    return len(names), names[:limit]


class ConfirmDeleteView(RoleRequiredMixin, DeleteView):
    """GET shows what will happen; POST deletes, unless other records PROTECT the object.

    A protected delete writes nothing and explains which records still refer to it.
    """

    template_name = "catalog/object_confirm_delete.html"
    protected_label = "records"  # "releases", "services", "deployments" ...
    list_url_name: str | None = None  # for the breadcrumb

    def consequences(self) -> list[str]:
        """Hook: plain sentences about what else the delete changes."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["verbose_name"] = self.model._meta.verbose_name
        context["consequences"] = self.consequences()
        context.update(_list_link(self.model, self.list_url_name))
        return context

    def form_valid(self, form):
        obj = self.object
        name = str(obj)
        try:
            with transaction.atomic():
                obj.delete()
        except ProtectedError as exc:
            count, names = describe_protected(exc)
            more = f" and {count - len(names)} more" if count > len(names) else ""
            messages.error(
                self.request,
                f"“{name}” cannot be deleted: {count} {self.protected_label} still refer to it "
                f"({', '.join(names)}{more}). Nothing was deleted.",
            )
            return redirect(obj.get_absolute_url())
        messages.success(
            self.request, f"{self.model._meta.verbose_name.capitalize()} “{name}” deleted."
        )
        return redirect(self.get_success_url())


# --- signing in --------------------------------------------------------------------------


class LoginForm(LockoutFormMixin, BootstrapFormMixin, AuthenticationForm):
    """Refused while the username is locked out (releasemgr.security.login_lockout)."""


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


# --- API tokens --------------------------------------------------------------------------


def can_manage_all_tokens(user) -> bool:
    return user.has_perm(MANAGE_ALL_TOKENS)


class TokenAccessMixin(LoginRequiredMixin):
    """Everyone signed in manages their own tokens; token managers manage everyone's."""

    def get_token(self, pk) -> ApiToken:
        token = get_object_or_404(
            ApiToken.objects.select_related("user", "created_by", "revoked_by"), pk=pk
        )
        if token.user_id != self.request.user.pk and not can_manage_all_tokens(self.request.user):
            raise PermissionDenied("This token belongs to someone else.")
        return token


class TokenFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User")
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), ("active", "Active"), ("revoked", "Revoked")],
    )


class TokenListView(TokenAccessMixin, ListView):
    template_name = "tokens/token_list.html"

    def get_queryset(self):
        qs = ApiToken.objects.select_related("user", "created_by", "revoked_by")
        self.manager = can_manage_all_tokens(self.request.user)
        if not self.manager:
            qs = qs.filter(user=self.request.user)
        self.filter_form = style_filter_form(TokenFilterForm(self.request.GET or None))
        if self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            if self.manager and data["user"]:
                qs = qs.filter(user__username=data["user"].strip())
            if data["state"] == "active":
                qs = qs.filter(revoked_at__isnull=True)
            elif data["state"] == "revoked":
                qs = qs.filter(revoked_at__isnull=False)
        return qs.order_by("revoked_at", "-created")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = paginate(self.request, self.object_list)
        context["is_manager"] = self.manager
        context["filter_form"] = self.filter_form
        return context


class TokenCreateForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, e.g. “GitLab CI deploy job”.",
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        help_text="The account the token acts as; service accounts such as "
        "<code>pipeline</code> for CI/CD.",
    )

    def __init__(self, *args, manager: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not manager:
            del self.fields["user"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name


class TokenCreateView(TokenAccessMixin, View):
    """Issue a token. The clear key is rendered in this one response and never stored."""

    template_name = "tokens/token_form.html"

    def _form(self, data=None):
        manager = can_manage_all_tokens(self.request.user)
        initial = {"user": self.request.user.get_username()} if manager else None
        return TokenCreateForm(data, manager=manager, initial=initial)

    def get(self, request):
        return render(
            request, self.template_name, {"form": self._form(), "submission": new_submission()}
        )

    def post(self, request):
        earlier = earlier_submission(request, "token")
        if earlier is not None:  # the same form posted again (refresh, double click)
            messages.info(
                request,
                "This token was already issued by that form; its key was shown once. "
                "Revoke it and issue a new one if the key is lost.",
            )
            return redirect("token_detail", pk=earlier)
        form = self._form(request.POST)
        if not form.is_valid():
            context = {"form": form, "submission": request.POST.get(SUBMISSION_FIELD, "")}
            return render(request, self.template_name, context, status=400)
        owner = form.cleaned_data.get("user") or request.user
        token, key = ApiToken.issue(owner, form.cleaned_data["name"], created_by=request.user)
        remember_submission(request, "token", token.pk)
        return render_shown_once(request, "tokens/token_issued.html", {"token": token, "key": key})


class TokenDetailView(TokenAccessMixin, DetailView):
    template_name = "tokens/token_detail.html"
    context_object_name = "token"

    def get_object(self, queryset=None):
        return self.get_token(self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["history"] = history_rows(self.object)
        return context


class TokenRevokeView(TokenAccessMixin, View):
    template_name = "tokens/token_confirm_revoke.html"

    def get(self, request, pk):
        token = self.get_token(pk)
        if not token.is_active:
            messages.info(request, f"Token “{token}” is already revoked.")
            return redirect(token.get_absolute_url())
        return render(request, self.template_name, {"token": token})

    def post(self, request, pk):
        with transaction.atomic():
            token = self.get_token(pk)
            token = ApiToken.objects.select_for_update().get(pk=token.pk)
            if not token.is_active:
                messages.info(request, f"Token “{token}” was already revoked.")
            else:
                token.revoke(by=request.user)
                messages.success(
                    request, f"Token “{token}” revoked; requests using it are now refused."
                )
        return redirect(token.get_absolute_url())
