import django_filters

from governance.models import Approval, ApprovalDecision


class ApprovalFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key")
    approver = django_filters.CharFilter(field_name="approver__username")
    decision = django_filters.ChoiceFilter(choices=ApprovalDecision.choices)

    class Meta:
        model = Approval
        fields = ["release", "approver", "decision"]
