from rest_framework.permissions import DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Django model permissions, including ``view_*`` for reads.

    Roles are groups holding these permissions (``releasemgr.roles``). Custom
    actions declare their own permission with ``required_permission``.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        action_perm = getattr(view, "required_permission", None)
        if callable(action_perm):
            action_perm = action_perm()
        if action_perm:
            return request.user.has_perm(action_perm)
        return super().has_permission(request, view)


class HasPermission:
    """Permission class factory for plain APIViews: ``HasPermission.of("releases.query_gate")``."""

    @staticmethod
    def of(perm: str):
        from rest_framework.permissions import BasePermission

        class _Has(BasePermission):
            def has_permission(self, request, view):
                return bool(
                    request.user and request.user.is_authenticated and request.user.has_perm(perm)
                )

        _Has.__name__ = f"Has_{perm.replace('.', '_')}"
        return _Has
