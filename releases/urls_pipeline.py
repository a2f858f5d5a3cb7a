from django.urls import path

from releases import views_pipeline

urlpatterns = [
    path(
        "releases/<releasekey:key>/strategy-advice/",
        views_pipeline.StrategyAdviceView.as_view(),
        name="release_strategy_advice",
    ),
]
