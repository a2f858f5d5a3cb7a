"""CAB meetings: the agenda of releases awaiting approval, members' votes, minutes."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import AgendaOutcome, MeetingKind, MeetingStatus, VoteChoice
from releasemgr.models import BaseModel


class CabMeeting(BaseModel):
    """A change advisory board meeting (regular, or an emergency CAB)."""

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MeetingKind.choices, default=MeetingKind.REGULAR)
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    location = models.CharField(max_length=200, blank=True, help_text="Room or call link.")
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chaired_meetings"
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="cab_meetings", blank=True
    )
    status = models.CharField(
        max_length=12,
        choices=MeetingStatus.choices,
        default=MeetingStatus.SCHEDULED,
        editable=False,
    )
    minutes = models.TextField(blank=True)

    class Meta:
        ordering = ["-scheduled_at"]

    def __str__(self):
        return f"{self.title} ({self.scheduled_at:%Y-%m-%d})"

    def get_absolute_url(self):
        return reverse("cab_meeting_detail", args=[self.pk])


class AgendaItem(BaseModel):
    """A release on a meeting's agenda, and what the meeting decided about it."""

    meeting = models.ForeignKey(CabMeeting, on_delete=models.CASCADE, related_name="items")
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="agenda_items"
    )
    position = models.PositiveIntegerField(default=0)
    outcome = models.CharField(
        max_length=10, choices=AgendaOutcome.choices, default=AgendaOutcome.PENDING
    )
    conditions = models.TextField(blank=True, help_text="Conditions the approval carries.")
    notes = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "release"], name="unique_agenda_release")
        ]

    def __str__(self):
        return f"{self.meeting}: {self.release.key}"

    def get_absolute_url(self):
        return self.meeting.get_absolute_url() + f"#item-{self.pk}"


class Vote(BaseModel):
    """One member's vote on an agenda item."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=10, choices=VoteChoice.choices)
    conditions = models.TextField(blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(fields=["item", "voter"], name="one_vote_per_member")
        ]

    def __str__(self):
        return f"{self.voter} {self.choice} on {self.item}"

    def get_absolute_url(self):
        return self.item.get_absolute_url()

    def clean(self):
        if self.choice == VoteChoice.REJECT and not self.comment.strip():
            raise ValidationError({"comment": "Say why you reject it."})
