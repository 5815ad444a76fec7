"""Output models of the desired-state steps: calendar processing (Get-/Set-CalendarProcessing) and the
bulk mailbox list. Keys are the JSON the templates' emitter writes and the lab's handlers return."""

from __future__ import annotations

from typing import Annotated

from pswrap.results.base import PSList, PSModel, enum_text
from pswrap.results.models import AdUser, Mailbox

CALENDAR_PROCESSING_FLAGS = {0: "None", 1: "AutoUpdate", 2: "AutoAccept"}
"""Microsoft.Exchange.Data.Storage.CalendarProcessingFlags, the values of -AutomateProcessing."""
CalendarProcessingFlags = Annotated[str, enum_text(CALENDAR_PROCESSING_FLAGS)]


class Principal(PSModel):
    """A recipient named in calendar processing (or asked to be resolved), and what it resolved to."""

    identity: str
    """As given, or as Get-CalendarProcessing lists it (a name or a legacyExchangeDN)."""
    found: bool
    matches: int = 0
    """How many recipients the identity matched (more than one is ambiguous)."""
    alias: str | None = None
    name: str | None = None
    primary_smtp_address: str | None = None
    external_directory_object_id: str | None = None
    guid: str | None = None

    @property
    def key(self) -> str:
        """What two principals are compared by: the directory object, else the address, else the name."""
        for value in (self.external_directory_object_id, self.guid, self.primary_smtp_address):
            if value:
                return value.lower()
        return self.identity.lower()


class CalendarProcessing(PSModel):
    """The Get-CalendarProcessing fields pswrap manages."""

    automate_processing: CalendarProcessingFlags
    booking_window_in_days: int
    maximum_duration_in_minutes: int
    allow_conflicts: bool
    allow_recurring_meetings: bool
    all_book_in_policy: bool
    add_organizer_to_subject: bool
    delete_comments: bool
    delete_subject: bool
    process_external_meeting_messages: bool
    resource_delegates: PSList[Principal] = []
    book_in_policy: PSList[Principal] = []


class CalendarRead(PSModel):
    """exo/get-calendar-processing: the mailbox's calendar processing (None when there is no such
    mailbox) and the principals asked to be resolved, each resolved in the same pipeline."""

    found: bool
    calendar: CalendarProcessing | None = None
    principals: PSList[Principal] = []


class RefusedSetting(PSModel):
    parameter: str
    message: str
    error_id: str | None = None


class CalendarSet(PSModel):
    """exo/set-calendar-processing: the parameters applied and those Exchange Online refused (each set
    on its own once the combined call failed, so one refused setting does not hold the others back)."""

    applied: PSList[str] = []
    refused: PSList[RefusedSetting] = []


class MailboxList(PSModel):
    """exo/list-mailboxes: every room, equipment and shared mailbox (Get-EXOMailbox pages internally)."""

    mailboxes: PSList[Mailbox] = []


class AdUsers(PSModel):
    """ad/list-users: the mail-enabled accounts under an OU."""

    users: PSList[AdUser] = []
