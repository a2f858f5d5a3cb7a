"""The approval policy as data: rules, their published versions, and what a release needs."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance import policy_scopes
from governance.choices import RiskBand, Touches
from releasemgr.models import BaseModel
from releases.choices import ChangeType


def _check_choice_list(values, choices, field):
    if not isinstance(values, list):
        raise ValidationError({field: "Must be a list."})
    unknown = [v for v in values if v not in choices.values]
    if unknown:
        raise ValidationError({field: f"Unknown value(s): {', '.join(map(str, unknown))}."})


class ApprovalRule(BaseModel):
    """If a release matches these conditions, it needs these approvals.

    Empty conditions match everything. ``approvers`` is a list of
    ``{"group": <role name>, "count": n}``. Rules are evaluated by
    ``governance.policy``; each edit publishes a new ``PolicyVersion``.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, help_text="Why the rule exists.")
    position = models.PositiveIntegerField(default=100, help_text="Rules are listed in this order.")
    active = models.BooleanField(default=True)
    change_types = models.JSONField(
        default=list, blank=True, help_text="Change types it applies to; empty = all."
    )
    min_band = models.CharField(
        max_length=10,
        choices=RiskBand.choices,
        blank=True,
        help_text="Applies at this risk band or above; blank = any band.",
    )
    touches = models.JSONField(
        default=list, blank=True, help_text="Applies if the release touches any of these."
    )
    customer_facing = models.BooleanField(
        null=True, blank=True, help_text="Yes/No: only releases that do/don't touch one."
    )
    approvers = models.JSONField(default=list, help_text='[{"group": "cab_member", "count": 2}]')
    # Team/domain scopes (governance.policy_scopes; adaptive approval thresholds).
    scopes = models.JSONField(
        default=list, blank=True, help_text='Only releases shipping a service of these ("team:x").'
    )
    except_scopes = models.JSONField(
        default=list, blank=True, help_text="Not releases whose services all belong to these."
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("approval_rule_detail", args=[self.pk])

    def clean(self):
        _check_choice_list(self.change_types, ChangeType, "change_types")
        _check_choice_list(self.touches, Touches, "touches")
        policy_scopes.check(self.scopes, "scopes")
        policy_scopes.check(self.except_scopes, "except_scopes")
        if not isinstance(self.approvers, list) or not self.approvers:
            raise ValidationError({"approvers": "Name at least one group and how many approvals."})
        groups = set(Group.objects.values_list("name", flat=True))
        for entry in self.approvers:
            if not isinstance(entry, dict) or set(entry) != {"group", "count"}:
                raise ValidationError({"approvers": 'Each entry is {"group": name, "count": n}.'})
            if entry["group"] not in groups:
                raise ValidationError({"approvers": f"Group '{entry['group']}' does not exist."})
            if not isinstance(entry["count"], int) or entry["count"] < 1:
                raise ValidationError({"approvers": "Each count must be a whole number ≥ 1."})


class PolicyVersion(models.Model):
    """A published state of all approval rules (append-only; the newest is in force)."""

    number = models.PositiveIntegerField(unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    rules = models.JSONField(default=list, help_text="Snapshot of the active rules.")

    class Meta:
        ordering = ["-number"]

    def __str__(self):
        return f"Policy v{self.number}"

    def get_absolute_url(self):
        return reverse("policy_version_detail", args=[self.number])


class ApprovalRequirement(BaseModel):
    """What one submission of a release needs, frozen when it was submitted.

    Later rule changes do not alter it; the next submission takes the new policy.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="approval_requirements"
    )
    round = models.PositiveIntegerField()
    group = models.CharField(max_length=50)
    count = models.PositiveSmallIntegerField()
    rules = models.JSONField(default=list, help_text="Names of the rules that asked for it.")
    why = models.TextField()
    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["release", "round", "group"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "round", "group"], name="unique_requirement_per_round"
            )
        ]

    def __str__(self):
        return f"{self.release.key} r{self.round}: {self.count} × {self.group}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#approvals"
