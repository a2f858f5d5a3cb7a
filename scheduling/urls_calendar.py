"""The release calendar, its iCalendar feed, and the region pages."""

from django.urls import path

from scheduling import views_calendar, views_regions

urlpatterns = [
    path("calendar/", views_calendar.CalendarView.as_view(), name="calendar"),
    path("calendar.ics", views_calendar.CalendarFeedView.as_view(), name="calendar_feed"),
    path("regions/", views_regions.RegionListView.as_view(), name="region_list"),
    path("regions/new/", views_regions.RegionCreateView.as_view(), name="region_create"),
    path("regions/<slug:code>/", views_regions.RegionDetailView.as_view(), name="region_detail"),
    path(
        "regions/<slug:code>/edit/", views_regions.RegionUpdateView.as_view(), name="region_update"
    ),
    path(
        "regions/<slug:code>/delete/",
        views_regions.RegionDeleteView.as_view(),
        name="region_delete",
    ),
    path(
        "regions/<slug:code>/import-holidays/",
        views_regions.HolidayImportView.as_view(),
        name="region_import_holidays",
    ),
]
