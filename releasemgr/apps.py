from django.apps import AppConfig


class ReleasemgrConfig(AppConfig):
    name = "releasemgr"
    verbose_name = "Release manager"

    def ready(self):
        from django.urls import register_converter

        from releasemgr import signals  # noqa: F401
        from releasemgr.converters import ReleaseKeyConverter

        # Before any URL module is imported: <releasekey:key> in every release URL.
        register_converter(ReleaseKeyConverter, "releasekey")
