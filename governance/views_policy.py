"""Approval policy pages: rules (list, detail, create, edit, delete), versions, and a preview.

The rules live in ``governance.policy``; every change here saves the rule with a
reason and publishes a new policy version in the same transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from governance import policy
from governance.filtersets_policy import ApprovalRuleFilterSet
from governance.forms_policy import ApprovalRuleForm, PreviewForm, approver_formset
from governance.models import ApprovalRequirement, ApprovalRule, PolicyVersion
from governance.policy_versions import readable
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release

PER_PAGE = 25
# How many recent frozen requirements the rule page scans for the releases it applied to.
RECENT_REQUIREMENTS = 500
RECENT_RELEASES = 15


def _described(rules):
    for rule in rules:
        rule.described = policy.describe(rule)
    return rules


# --- list and detail ----------------------------------------------------------------------------


class ApprovalRuleListView(RoleRequiredMixin, View):
    """Every rule, what it applies to and what it asks for; the version in force."""

    model = ApprovalRule
    permission_required = "governance.view_approvalrule"

    def get(self, request):
        filterset = ApprovalRuleFilterSet(request.GET or None, queryset=ApprovalRule.objects.all())
        page = paginate(request, filterset.qs.order_by("position", "name"), PER_PAGE)
        _described(page)
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "version": policy.current_version(),
            "can_add": request.user.has_perm("governance.add_approvalrule"),
        }
        template = (
            "governance/policy_rule_table.html"
            if is_htmx(request)
            else "governance/policy_rule_list.html"
        )
        return render(request, template, context)


def _recent_releases(rule: ApprovalRule) -> list[dict]:
    """The latest releases whose frozen requirements name this rule (newest first)."""
    seen: dict[int, dict] = {}
    rows = ApprovalRequirement.objects.select_related("release", "policy_version").order_by(
        "-created", "-pk"
    )[:RECENT_REQUIREMENTS]
    for row in rows:
        if rule.name in (row.rules or []) and row.release_id not in seen:
            seen[row.release_id] = {"release": row.release, "row": row}
            if len(seen) >= RECENT_RELEASES:
                break
    return list(seen.values())


class ApprovalRuleDetailView(RoleRequiredMixin, View):
    model = ApprovalRule
    permission_required = "governance.view_approvalrule"

    def get(self, request, pk):
        rule = get_object_or_404(ApprovalRule, pk=pk)
        user = request.user
        return render(
            request,
            "governance/policy_rule_detail.html",
            {
                "rule": rule,
                "described": policy.describe(rule),
                "recent": _recent_releases(rule),
                "history": history_rows(rule),
                "can_change": user.has_perm("governance.change_approvalrule"),
                "can_delete": user.has_perm("governance.delete_approvalrule"),
            },
        )


# --- create, edit, delete ------------------------------------------------------------------------


class ApprovalRuleFormView(RoleRequiredMixin, View):
    """Create (no ``pk``) or edit a rule; approvers are repeated "group + count" rows."""

    model = ApprovalRule
    template_name = "governance/policy_rule_form.html"

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return ("governance.change_approvalrule",)
        return ("governance.add_approvalrule",)

    def _render(self, request, rule, form, formset, status=200):
        return render(
            request,
            self.template_name,
            {"rule": rule, "form": form, "formset": formset},
            status=status,
        )

    def get(self, request, pk=None):
        rule = get_object_or_404(ApprovalRule, pk=pk) if pk else None
        form = ApprovalRuleForm(instance=rule, initial=None if rule else {"position": 100})
        return self._render(request, rule, form, approver_formset(rule=rule))

    def post(self, request, pk=None):
        rule = get_object_or_404(ApprovalRule, pk=pk) if pk else None
        before = policy.snapshot(rule) if rule else None
        formset = approver_formset(request.POST, rule=rule)
        formset_ok = formset.is_valid()
        form = ApprovalRuleForm(
            request.POST, instance=rule or ApprovalRule(), approver_rows=formset.rows()
        )
        if not (form.is_valid() and formset_ok):
            return self._render(request, rule, form, formset, status=400)
        note = form.cleaned_data["note"]
        with transaction.atomic():
            saved = form.save(commit=False)
            if rule is None:
                reason = "created"
            else:
                changes = policy.diff([before], [policy.snapshot(saved)])
                fields = [c["field"] for c in changes[0]["fields"]] if changes else []
                reason = "edited: " + (", ".join(fields) or "nothing changed")
            saved.save_with_reason(
                (reason + (f" — {note}" if note else ""))[:100], user=request.user
            )
            verb = "added" if rule is None else "edited"
            version = policy.publish(
                request.user, note or f"{request.user.username} {verb} “{saved.name}”"
            )
        messages.success(
            request, f"Rule “{saved.name}” saved; the approval policy is now v{version.number}."
        )
        return redirect(saved)


class ApprovalRuleDeleteView(RoleRequiredMixin, View):
    model = ApprovalRule
    permission_required = "governance.delete_approvalrule"

    def get(self, request, pk):
        rule = get_object_or_404(ApprovalRule, pk=pk)
        return render(request, "governance/policy_rule_confirm_delete.html", {"rule": rule})

    def post(self, request, pk):
        with transaction.atomic():
            rule = get_object_or_404(ApprovalRule.objects.select_for_update(), pk=pk)
            name = rule.name
            rule._change_reason = "deleted"
            rule._history_user = request.user
            rule.delete()
            version = policy.publish(request.user, f"{request.user.username} deleted “{name}”")
        messages.success(
            request,
            f"Rule “{name}” deleted; the approval policy is now v{version.number}. "
            "Releases already submitted keep what they needed.",
        )
        return redirect("approval_rule_list")


# --- versions ---------------------------------------------------------------------------------------


class PolicyVersionListView(RoleRequiredMixin, View):
    model = PolicyVersion
    permission_required = "governance.view_policyversion"

    def get(self, request):
        versions = PolicyVersion.objects.select_related("created_by").order_by("-number")
        page = paginate(request, versions, PER_PAGE)
        for version in page:
            version.active_rules = sum(1 for r in version.rules if r.get("active", True))
        return render(request, "governance/policy_version_list.html", {"page": page})


class PolicyVersionDetailView(RoleRequiredMixin, View):
    model = PolicyVersion
    permission_required = "governance.view_policyversion"

    def get(self, request, number):
        version = get_object_or_404(
            PolicyVersion.objects.select_related("created_by"), number=number
        )
        rules = [{**r, "described": policy.describe(r)} for r in version.rules]
        used = (
            ApprovalRequirement.objects.filter(policy_version=version)
            .values("release_id")
            .aggregate(n=Count("release_id", distinct=True))["n"]
        )
        return render(
            request,
            "governance/policy_version_detail.html",
            {
                "version": version,
                "rules": rules,
                "changes": readable(policy.version_diff(version)),
                "previous": PolicyVersion.objects.filter(number__lt=version.number)
                .order_by("-number")
                .first(),
                "following": PolicyVersion.objects.filter(number__gt=version.number)
                .order_by("number")
                .first(),
                "releases_frozen": used,
            },
        )


# --- try the policy on a release ---------------------------------------------------------------------


class PolicyPreviewView(RoleRequiredMixin, View):
    """``?release=<key>``: which rules would apply to it now, and why (what it froze, if any)."""

    permission_required = "governance.view_approvalrule"

    def get(self, request):
        form = PreviewForm(request.GET or None)
        key = (request.GET.get("release") or "").strip()
        release = result = frozen = None
        if key:
            release = (
                Release.objects.select_related("author")
                .prefetch_related("release_services__service", "scope_items")
                .filter(key=key)
                .first()
            )
            if release is None:
                form.add_error("release", f"There is no release '{key}'.")
            else:
                result = policy.evaluate(release)
                explained = policy.explain(release)
                frozen = explained if explained.frozen else None
        recent = Release.objects.order_by("-created").values_list("key", "name")[:50]
        return render(
            request,
            "governance/policy_preview.html",
            {
                "form": form,
                "release": release,
                "result": result,
                "frozen": frozen,
                "recent": recent,
            },
            status=400 if key and release is None else 200,
        )
