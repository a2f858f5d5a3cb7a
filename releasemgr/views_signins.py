"""The Sign-ins page (administrators): usernames locked out now with an Unlock button, and the
log of sign-in attempts with filters. Rules in ``releasemgr.signins``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from releasemgr import signins
from releasemgr.models_harden import LoginOutcome
from releasemgr.web import RoleRequiredMixin, paginate


class AdministratorsOnly(RoleRequiredMixin):
    def has_permission(self):
        return signins.may_manage_signins(self.request.user)


class SigninListView(AdministratorsOnly, TemplateView):
    template_name = "security/signin_list.html"

    def get(self, request, *args, **kwargs):
        try:
            self.filters, self.errors = signins.parse_filters(request.GET), {}
        except signins.InvalidSigninFilters as exc:
            self.filters, self.errors = None, exc.errors
        response = super().get(request, *args, **kwargs)
        if self.errors:
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            errors=self.errors,
            params=self.request.GET,
            outcomes=LoginOutcome.choices,
            locked=signins.locked_usernames(),
            retention_days=signins.retention_days(),
            lockout_minutes=max(1, settings.LOGIN_LOCKOUT_SECONDS // 60),
            lockout_failures=settings.LOGIN_LOCKOUT_FAILURES,
            window_minutes=max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60),
        )
        if self.filters is not None:
            context["page_obj"] = paginate(self.request, signins.attempts(self.filters), 50)
        return context


class SigninUnlockView(AdministratorsOnly, View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            attempt = signins.unlock(request.POST.get("username", ""), request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"{attempt.username} is unlocked: earlier failures no longer count."
            )
        return redirect("signin_list")
