"""Strategy advice on the release page's deploy form (htmx: reloaded on environment change)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views import View

from releasemgr.web import RoleRequiredMixin, is_htmx
from releases import strategy
from releases.choices import DeploymentStrategy
from releases.forms import StartDeploymentForm
from releases.models import Release
from scheduling.models import Environment


class StrategyAdviceView(RoleRequiredMixin, View):
    """The advice for ``?environment=slug``; the strategy and canary fields preselected."""

    permission_required = "releases.view_release"

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        slug = request.GET.get("environment", "").strip()
        environment = Environment.objects.filter(slug=slug).first() if slug else None
        advice = strategy.advise(release, environment) if environment else None
        form = StartDeploymentForm(
            initial={
                "environment": environment,
                "strategy": advice.recommended,
                # Steps only with a canary: any other strategy takes none.
                "canary_steps": strategy.steps_text(advice.canary_steps)
                if advice.recommended == DeploymentStrategy.CANARY
                else "",
            }
            if advice
            else {}
        )
        context = {
            "release": release,
            "environment": environment,
            "unknown_environment": slug if slug and environment is None else "",
            "advice": advice,
            "deploy_form": form,
            # After a refused submission the fields keep what the user typed (and its errors);
            # only the advice is refreshed.
            "oob": is_htmx(request) and not request.GET.get("keep"),
        }
        template = (
            "releases/_strategy_advice.html"
            if is_htmx(request)
            else "releases/strategy_advice_page.html"
        )
        return render(request, template, context)
