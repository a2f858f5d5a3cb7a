"""Deployment page panel for targets, partial failures and smoke-test halts (the forms post here).

``rollout_context`` feeds the panel on the deployment page; the four POST views call
``releases.rollout`` and come back to the page with what happened (or the error, 400/409).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.forms import BootstrapFormMixin
from releasemgr.web import RoleRequiredMixin
from releases import rollout
from releases.models import Deployment


class ReasonForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, required=False, label="Reason", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].label = label
        if required:
            self.fields["reason"].error_messages["required"] = (
                "Give a reason: it is recorded with the decision."
            )


ACTIONS = {
    # name: (label, reason required, success message, reason label)
    "retry-failed": (
        "Retry failed targets",
        False,
        "Failed targets sent back to the pipeline",
        "Why retry (optional)",
    ),
    "rollback-succeeded": (
        "Roll back succeeded targets",
        False,
        "Succeeded targets rolled back to their previous version",
        "Why roll back (optional)",
    ),
    "accept-partial": (
        "Accept as partially deployed",
        True,
        "Partial result accepted",
        "Why accept",
    ),
    "override-halt": (
        "Override the halt",
        True,
        "Failed smoke tests overridden",
        "Why override the failed smoke test",
    ),
}


def rollout_context(request, deployment: Deployment) -> dict:
    """What the targets/decisions panel needs (bound forms with errors come from the request)."""
    bound = getattr(request, "_rollout_forms", {})
    offer = rollout.available(deployment, request.user)
    forms_ = {
        name: bound.get(name)
        or ReasonForm(prefix=name, required=ACTIONS[name][1], label=ACTIONS[name][3])
        for name in ACTIONS
    }
    return {
        "targets": list(deployment.targets.all()),
        "rollout_decisions": list(deployment.rollout_decisions.select_related("decided_by")),
        "failed_smoke": rollout.failed_smoke_tests(deployment),
        "accepted_decision": rollout.accepted(deployment),
        "offer_decide": offer["decide"],
        "offer_override": offer["override"],
        "retry_form": forms_["retry-failed"],
        "rollback_form": forms_["rollback-succeeded"],
        "accept_form": forms_["accept-partial"],
        "override_form": forms_["override-halt"],
    }


class _DecisionView(RoleRequiredMixin, View):
    action = ""
    permission_required = rollout.DECIDE_PERMISSION

    def post(self, request, pk):
        from releases.views.deployments import render_deployment_detail

        deployment = get_object_or_404(Deployment.objects.select_related("release"), pk=pk)
        label, required, done, reason_label = ACTIONS[self.action]
        form = ReasonForm(request.POST, prefix=self.action, required=required, label=reason_label)
        if not form.is_valid():
            request._rollout_forms = {self.action: form}
            messages.error(request, f"{label}: " + " ".join(form.errors["reason"]))
            return render_deployment_detail(request, pk, status=400)
        try:
            rollout.ACTIONS[self.action](deployment, request.user, form.cleaned_data["reason"])
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_deployment_detail(request, pk, status=403)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render_deployment_detail(request, pk, status=400)
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_deployment_detail(request, pk, status=409)
        deployment.refresh_from_db()
        messages.success(
            request,
            f"{done}: deployment #{deployment.pk} is now "
            f"{deployment.get_status_display().lower()}.",
        )
        return redirect(deployment.get_absolute_url() + "#rollout")


class RetryFailedView(_DecisionView):
    action = "retry-failed"


class RollbackSucceededView(_DecisionView):
    action = "rollback-succeeded"


class AcceptPartialView(_DecisionView):
    action = "accept-partial"


class OverrideHaltView(_DecisionView):
    action = "override-halt"
    permission_required = rollout.OVERRIDE_PERMISSION
