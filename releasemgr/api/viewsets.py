from django.db import transaction
from rest_framework import viewsets


class BaseModelViewSet(viewsets.ModelViewSet):
    """Writes run in one transaction; errors are mapped by ``api.exceptions``.

    Per-model viewsets set queryset, serializer_class, filterset_class and
    lookup_field; the role permissions come from the project default.
    Viewsets whose lifecycle functions manage their own transactions (and
    must keep a record of a refusal) set ``atomic_writes = False``.
    """

    atomic_writes = True

    def dispatch(self, request, *args, **kwargs):
        if request.method in ("GET", "HEAD", "OPTIONS") or not self.atomic_writes:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                # The error was turned into a response inside this block: undo its writes here,
                # not in the exception handler, which must not roll back a caller's transaction.
                transaction.set_rollback(True)
            return response

    def perform_create(self, serializer):
        serializer.save()
