from releasemgr.api.viewsets import BaseModelViewSet
from scheduling.api.serializers import EnvironmentSerializer, FreezeWindowSerializer
from scheduling.filtersets import EnvironmentFilterSet, FreezeWindowFilterSet
from scheduling.models import Environment, FreezeWindow


class EnvironmentViewSet(BaseModelViewSet):
    queryset = Environment.objects.all()
    serializer_class = EnvironmentSerializer
    filterset_class = EnvironmentFilterSet
    lookup_field = "slug"
    ordering_fields = ["order", "name"]


class FreezeWindowViewSet(BaseModelViewSet):
    queryset = FreezeWindow.objects.select_related("created_by").prefetch_related(
        "services", "environments"
    )
    serializer_class = FreezeWindowSerializer
    filterset_class = FreezeWindowFilterSet
    ordering_fields = ["start", "end", "name"]
