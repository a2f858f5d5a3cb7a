"""CAB pages (issue 4, item 4): the board, meetings, agenda items."""

from django.urls import path

from governance import views_cab as views

urlpatterns = [
    path("cab/", views.CabBoardView.as_view(), name="cab_board"),
    path("cab/meetings/", views.CabMeetingListView.as_view(), name="cab_meeting_list"),
    path("cab/meetings/new/", views.CabMeetingFormView.as_view(), name="cab_meeting_create"),
    path("cab/meetings/<int:pk>/", views.CabMeetingDetailView.as_view(), name="cab_meeting_detail"),
    path(
        "cab/meetings/<int:pk>/edit/", views.CabMeetingFormView.as_view(), name="cab_meeting_edit"
    ),
    path("cab/meetings/<int:pk>/agenda/", views.CabAgendaView.as_view(), name="cab_meeting_agenda"),
    path(
        "cab/meetings/<int:pk>/reorder/", views.CabReorderView.as_view(), name="cab_meeting_reorder"
    ),
    path("cab/meetings/<int:pk>/start/", views.CabStartView.as_view(), name="cab_meeting_start"),
    path("cab/meetings/<int:pk>/close/", views.CabCloseView.as_view(), name="cab_meeting_close"),
    path("cab/meetings/<int:pk>/cancel/", views.CabCancelView.as_view(), name="cab_meeting_cancel"),
    path("cab/items/<int:pk>/vote/", views.CabVoteView.as_view(), name="cab_item_vote"),
    path("cab/items/<int:pk>/defer/", views.CabDeferView.as_view(), name="cab_item_defer"),
    path("cab/items/<int:pk>/remove/", views.CabItemRemoveView.as_view(), name="cab_item_remove"),
]
