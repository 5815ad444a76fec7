"""The steps of the desired-state engine (`pswrap mailbox apply|show|list`): calendar processing and the
bulk mailbox read. One declaration each; the contract with its template and lab handler as in runbook.py.
"""

from __future__ import annotations

from pswrap.results import desired as d
from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Param, Profile, Step

MODERN: tuple[Profile, ...] = ("modern",)
MODERN_HYBRID: tuple[Profile, ...] = ("modern", "hybrid-tools")
AD_CRED = (
    Param("CredentialUser", mandatory=False, help="AD account for the second hop (DOMAIN\\user)"),
    Param("CredentialPassword", "securestring", mandatory=False, secret=True, help="its password"),
)

CALENDAR_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    # (spec field under calendar., Set-CalendarProcessing parameter, its type in the param() block)
    ("automate_processing", "AutomateProcessing", "string"),
    ("booking_window_days", "BookingWindowInDays", "int"),
    ("max_duration_minutes", "MaximumDurationInMinutes", "int"),
    ("allow_conflicts", "AllowConflicts", "bool"),
    ("allow_recurring_meetings", "AllowRecurringMeetings", "bool"),
    ("resource_delegates", "ResourceDelegates", "string[]"),
    ("all_book_in_policy", "AllBookInPolicy", "bool"),
    ("book_in_policy", "BookInPolicy", "string[]"),
    ("add_organizer_to_subject", "AddOrganizerToSubject", "bool"),
    ("delete_comments", "DeleteComments", "bool"),
    ("delete_subject", "DeleteSubject", "bool"),
    ("process_external_meeting_messages", "ProcessExternalMeetingMessages", "bool"),
)

STEPS = (
    Step(
        "exo/get-calendar-processing",
        "Read a mailbox's calendar processing (Get-CalendarProcessing); resolve principals (Get-Recipient)",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Identity", help="the mailbox: alias, SMTP address or name"),
            Param(
                "Principals",
                "string[]",
                mandatory=False,
                help="UPNs, SMTP addresses or aliases to resolve to recipients in the same pipeline",
            ),
        ),
        result=d.CalendarRead,
    ),
    Step(
        "exo/set-calendar-processing",
        "Set a resource mailbox's calendar processing (Set-CalendarProcessing), each refusal on its own",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Identity", help="the mailbox: alias, SMTP address or name"),
            *(
                Param(parameter, kind, mandatory=False, help=f"calendar.{field}")  # type: ignore[arg-type]
                for field, parameter, kind in CALENDAR_PARAMETERS
            ),
        ),
        result=d.CalendarSet,
        changes=True,
        read_back=rb.SET_CALENDAR,
    ),
    Step(
        "exo/list-mailboxes",
        "Read every room, equipment and shared mailbox in one filtered read (Get-EXOMailbox, paged)",
        needs="exo",
        profiles=MODERN,
        result=d.MailboxList,
    ),
    Step(
        "ad/list-users",
        "Read every mail-enabled AD account under an OU in one paged read (Get-ADUser -LDAPFilter)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(
            Param("SearchBase", help="the OU's distinguished name"),
            Param("Server", help="the domain controller pinned for the whole run"),
            *AD_CRED,
        ),
        result=d.AdUsers,
        session_params=("Server", "CredentialUser", "CredentialPassword"),
    ),
    Step(
        "graph/list-synced-users",
        "Read every cloud user synced from on-premises with its ImmutableId (Get-MgUser -Filter -All)",
        needs="graph",
        profiles=MODERN,
        result=m.CloudUsers,
    ),
    # issue #15: a batch's links, checked in bulk after its sync cycle
    Step(
        "graph/get-users",
        "Read many cloud users by id, 15 per filtered request, with their anchors (Get-MgUser -Filter)",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", "string[]", help="the users' object ids"),),
        result=m.CloudUsers,
    ),
)
