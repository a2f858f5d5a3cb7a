from django.apps import AppConfig


class ReleasemgrConfig(AppConfig):
    name = "releasemgr"
    verbose_name = "Release manager"

    def ready(self):
        from releasemgr import signals  # noqa: F401
