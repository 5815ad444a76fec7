#!/usr/bin/python
# Copyright: pswrap contributors
# MIT License (the same as the pswrap package)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_mailbox
short_description: A room, equipment or shared mailbox managed from on-premises AD, as declared
description:
  - Converges one resource mailbox of a hybrid Exchange Online tenant to its declared state with
    pswrap (C(pswrap mailbox apply)); the options are the fields of pswrap's mailbox spec.
  - A missing mailbox is created in Exchange Online and linked to a new AD account through sync; an
    existing one gets only the fields given that differ. A field left out is left alone.
  - "The module runs where pswrap is installed (usually the controller) and connects to the Windows
    server itself; run it with C(delegate_to: localhost) or C(connection: local)."
  - Check mode is pswrap's dry run; C(changed) says whether something would change.
version_added: 0.1.0
author:
  - pswrap contributors (!UNKNOWN)
extends_documentation_fragment:
  - pswrap.hybrid.connection
attributes:
  check_mode:
    support: full
    description: Nothing changes; C(changed) and C(changes) say what would.
  diff_mode:
    support: full
    description: Each changed field before and after.
options:
  alias:
    description:
    - 'The mailbox alias (mailNickname): its identity. A different alias is a different mailbox; renames
      are out of scope.'
    type: str
    required: true
  state:
    description:
    - present (the default) converges the mailbox to the other options.
    - absent removes it through sync as C(pswrap mailbox remove) does, where the installed pswrap has
      removal; where it does not, the task fails and says so (nothing is changed).
    type: str
    choices:
    - present
    - absent
    default: present
  name:
    description:
    - 'Name (default: the alias). Once linked it is the AD object''s name, which pswrap does not rename:
      a different one is reported as drift.'
    type: str
  type:
    description:
    - room (the default), equipment or shared.
    type: str
    choices:
    - room
    - equipment
    - shared
  display_name:
    description:
    - 'Display name (default: the name).'
    type: str
  sam:
    description:
    - 'sAMAccountName of the AD account (default: the alias).'
    type: str
  upn:
    description:
    - 'UPN of the AD account (default: alias@UPN suffix); once linked, a different UPN is reported as
      drift, never changed.'
    type: str
  email:
    description:
    - 'Primary SMTP address (default: the UPN).'
    type: str
  addresses:
    description:
    - Extra SMTP addresses besides the primary one (other address types are kept).
    - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those members.'
    type: raw
  ou:
    description:
    - 'OU of the AD account (default: the target''s resource OU); once linked, an account elsewhere is
      reported as drift, never moved.'
    type: str
  capacity:
    description:
    - Room capacity (rooms only).
    type: int
  calendar:
    description:
    - 'Calendar processing (rooms and equipment); left out: left alone.'
    type: dict
    suboptions:
      automate_processing:
        description:
        - 'AutomateProcessing: AutoAccept (the resource booking assistant accepts or declines), AutoUpdate
          (only tentative placement), None (no processing).'
        type: str
        choices:
        - AutoAccept
        - AutoUpdate
        - None
      booking_window_days:
        description:
        - 'BookingWindowInDays: how far ahead it can be booked (0-1080).'
        type: int
      max_duration_minutes:
        description:
        - 'MaximumDurationInMinutes: the longest meeting accepted.'
        type: int
      allow_conflicts:
        description:
        - 'AllowConflicts: accept overlapping meetings.'
        type: bool
      allow_recurring_meetings:
        description:
        - 'AllowRecurringMeetings: accept recurring meetings.'
        type: bool
      resource_delegates:
        description:
        - 'ResourceDelegates: who may approve or decline requests sent to the resource (UPN, SMTP address
          or alias).'
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      all_book_in_policy:
        description:
        - 'AllBookInPolicy: accept in-policy requests from everyone.'
        type: bool
      book_in_policy:
        description:
        - 'BookInPolicy: who may book in-policy requests automatically (UPN, SMTP address or alias).'
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      add_organizer_to_subject:
        description:
        - 'AddOrganizerToSubject: put the organizer''s name in the subject.'
        type: bool
      delete_comments:
        description:
        - 'DeleteComments: remove the text body of incoming requests.'
        type: bool
      delete_subject:
        description:
        - 'DeleteSubject: remove the subject of incoming requests.'
        type: bool
      process_external_meeting_messages:
        description:
        - 'ProcessExternalMeetingMessages: process requests from outside the organization.'
        type: bool
  permissions:
    description:
    - FullAccess, SendAs, SendOnBehalf and calendar folder rights.
    type: dict
    suboptions:
      full_access:
        description:
        - 'FullAccess (Add-/Remove-MailboxPermission): who may open the mailbox.'
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      automapping:
        description:
        - AutoMapping of the FullAccess grants pswrap adds (Outlook opens the mailbox by itself). Used
          when granting; Exchange does not report it back, so it is not compared.
        type: bool
        default: true
      send_as:
        description:
        - 'SendAs (Add-/Remove-RecipientPermission): who may send as the mailbox.'
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      send_on_behalf:
        description:
        - 'GrantSendOnBehalfTo (Exchange Online) / publicDelegates (AD, when the Exchange attributes are
          mastered on-premises): who may send on behalf of the mailbox.'
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      calendar_permissions:
        description:
        - 'Calendar folder rights (Add-/Set-/Remove-MailboxFolderPermission), user -> role, e.g. {Default:
          LimitedDetails, deleg1: Editor}. A mapping replaces every named user''s entry (Default and Anonymous
          are only set, never removed); {add, remove} changes only those.'
        - 'A mapping C({user: role}) replaces the whole set of entries (Default and Anonymous are kept
          unless named); a mapping C({add: {user: role}, remove: [user]}) changes only those entries.
          Roles: None, AvailabilityOnly, LimitedDetails, Reviewer, Contributor, NonEditingAuthor, Author,
          PublishingAuthor, Editor, PublishingEditor, Owner.'
        type: raw
  place:
    description:
    - Room Finder's place data (Set-Place); rooms only.
    type: dict
    suboptions:
      building:
        description:
        - Building (Set-Place -Building).
        type: str
      floor:
        description:
        - Floor number (Set-Place -Floor).
        type: int
      floor_label:
        description:
        - Floor label (Set-Place -FloorLabel).
        type: str
      capacity:
        description:
        - Seats (Set-Place -Capacity).
        type: int
      tags:
        description:
        - Features, e.g. Whiteboard (Set-Place -Tags).
        - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those
          members.'
        type: raw
      is_wheelchair_accessible:
        description:
        - Wheelchair accessible (Set-Place -IsWheelChairAccessible).
        type: bool
      audio_device_name:
        description:
        - Audio device (Set-Place -AudioDeviceName).
        type: str
      video_device_name:
        description:
        - Video device (Set-Place -VideoDeviceName).
        type: str
      display_device_name:
        description:
        - Display device (Set-Place -DisplayDeviceName).
        type: str
      street:
        description:
        - 'Street: Set-Place, or AD streetAddress on a synced room.'
        type: str
      city:
        description:
        - 'City: Set-Place, or AD l on a synced room.'
        type: str
      state:
        description:
        - 'State: Set-Place, or AD st on a synced room.'
        type: str
      postal_code:
        description:
        - 'Postal code: Set-Place, or AD postalCode when synced.'
        type: str
      country_or_region:
        description:
        - 'Country or region (ISO 3166 two-letter code): Set-Place, or AD c when synced.'
        type: str
      phone:
        description:
        - 'Phone: Set-Place, or AD telephoneNumber on a synced room.'
        type: str
      geo_coordinates:
        description:
        - 'GeoCoordinates ''latitude;longitude[;altitude]'': Set-Place on a cloud-only room; not settable
          on a synced room.'
        type: str
  room_lists:
    description:
    - Room lists (distribution groups created with -RoomList) the room is a member of, by name, alias
      or SMTP address. Rooms only.
    - 'A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those members.'
    type: raw
  create_room_lists:
    description:
    - 'Create a room list that does not exist yet (otherwise: exit 2 naming it).'
    type: bool
    default: false
  hidden_from_address_lists:
    description:
    - HiddenFromAddressListsEnabled, where the mastering table lets it be written.
    type: bool
  workspace:
    description:
    - 'A room booked as a workspace (Set-Mailbox -Type Workspace, cloud-only): not settable on a synced
      room whose Exchange attributes AD masters. Rooms only.'
    type: bool

  wait:
    description:
    - Wait for sync to link a new mailbox to its AD account. With V(false) the task ends with status
      C(pending-sync) once the account is written; the next run (or C(pswrap resume)) finishes the link.
    type: bool
    default: true
  sync_timeout:
    description:
    - Seconds to wait for sync; past it the task fails with exit code 7 (the operation is journaled and
      resumable).
    type: float
    default: 600
  hold:
    description:
    - How a new AD account is kept out of sync until its anchor is set (the target's default when left
      out).
    type: str
    choices:
    - anchor
    - staging-ou
    - scheduler
    - none
"""

EXAMPLES = r"""
- name: A room with its booking rules (on the target configured in pswrap)
  pswrap.hybrid.resource_mailbox:
    target: corp
    alias: room-4-12
    name: Room 4.12
    display_name: Room 4.12 (Building 4)
    type: room
    capacity: 12
    calendar:
      automate_processing: AutoAccept
      booking_window_days: 180
      max_duration_minutes: 240
      allow_recurring_meetings: true
      resource_delegates:
        add:
          - facilities@corp.example
  delegate_to: localhost

- name: The same on a server given here, signing in to the tenant app-only
  pswrap.hybrid.resource_mailbox:
    host: hybrid1.corp.example
    auth: kerberos
    hosts:
      adsync: sync1.corp.example
    organization: corp.onmicrosoft.com
    tenant_id: 00000000-0000-0000-0000-000000000000
    app_id: 11111111-1111-1111-1111-111111111111
    certificate_thumbprint: 3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A
    alias: projector-2
    type: equipment
    calendar:
      booking_window_days: 30
  delegate_to: localhost

- name: A shared mailbox with a password from the vault (never shown)
  pswrap.hybrid.resource_mailbox:
    host: hybrid1.corp.example
    auth: ntlm
    username: CORP\svc-pswrap
    password: "{{ vault_pswrap_password }}"
    ca_path: /etc/pki/corp-ca.pem
    alias: helpdesk
    type: shared
    display_name: Help desk
  delegate_to: localhost

- name: Who may open the room's mailbox, and where Room Finder shows it
  pswrap.hybrid.resource_mailbox:
    target: corp
    alias: room-4-12
    permissions:
      full_access:
        add:
          - facilities@corp.example
      automapping: false
      calendar_permissions:
        add:
          Default: LimitedDetails
    place:
      building: Building 4
      floor: 4
      tags: [Whiteboard, Projector]
    room_lists: [Building 4 Rooms]
    create_room_lists: true
  delegate_to: localhost

- name: Remove a room (where the installed pswrap has removal)
  pswrap.hybrid.resource_mailbox:
    target: corp
    alias: room-old
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
operation:
  description: The journaled operation's ID (C(pswrap ops show ID)); null when nothing was changed.
  returned: always
  type: str
  sample: 7c1e0b1e-5a3b-4a59-9f7d-2f1f0f6f2b11
status:
  description:
    - completed, unchanged, planned (check mode, something would change), pending-sync, failed or refused.
  returned: always
  type: str
  sample: completed
changes:
  description: Each field changed (or, in check mode, that would be), where it was written.
  returned: always
  type: list
  elements: dict
  sample: [{field: calendar.booking_window_days, from: 180, to: 90, where: exo}]
drift:
  description: Values that differ from what was declared and were not changed, with where they are mastered.
  returned: always
  type: list
  elements: dict
  sample: []
mailbox:
  description: The mailbox as read (alias, primary SMTP address, recipient type); null when missing.
  returned: always
  type: dict
  sample: {alias: room1, primary_smtp_address: room1@corp.example, recipient_type_details: RoomMailbox}
immutable_id:
  description: The cloud account's ImmutableId when this run linked it.
  returned: always
  type: str
  sample: null
link_state:
  description:
    - How the mailbox is linked to its AD account (not_linked, linked, linked_exchange_cloud_managed,
      linked_with_exchange_schema); null when the mailbox does not exist (check mode before it is created,
      or after removal).
  returned: always
  type: str
  sample: linked
link:
  description: The link as read (C(pswrap mailbox show)'s C(link)); null when the mailbox does not exist.
  returned: always
  type: dict
  sample: {synced: true, state: linked, anchors_agree: true}
error:
  description:
    - pswrap's error (type, message, hint, exit_code) and what its exit code means (meaning).
  returned: failed
  type: dict
  sample: {type: BadInput, message: "...", exit_code: 2, meaning: "bad input, ... nothing remote was changed"}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pswrap.hybrid.plugins.module_utils.pswrap_common import (
    CONNECTION_ARGSPEC,
    connect,
    fail_with,
    pswrap_calls,
    require_pswrap,
)

LIST_OPTION = {"type": "raw"}

CALENDAR_ARGSPEC: dict[str, dict[str, Any]] = {
    "automate_processing": {"type": "str", "choices": ["AutoAccept", "AutoUpdate", "None"]},
    "booking_window_days": {"type": "int"},
    "max_duration_minutes": {"type": "int"},
    "allow_conflicts": {"type": "bool"},
    "allow_recurring_meetings": {"type": "bool"},
    "resource_delegates": dict(LIST_OPTION),
    "all_book_in_policy": {"type": "bool"},
    "book_in_policy": dict(LIST_OPTION),
    "add_organizer_to_subject": {"type": "bool"},
    "delete_comments": {"type": "bool"},
    "delete_subject": {"type": "bool"},
    "process_external_meeting_messages": {"type": "bool"},
}

PERMISSIONS_ARGSPEC: dict[str, dict[str, Any]] = {
    "full_access": dict(LIST_OPTION),
    "automapping": {"type": "bool", "default": True},
    "send_as": dict(LIST_OPTION),
    "send_on_behalf": dict(LIST_OPTION),
    "calendar_permissions": {"type": "raw"},
}

PLACE_ARGSPEC: dict[str, dict[str, Any]] = {
    "building": {"type": "str"},
    "floor": {"type": "int"},
    "floor_label": {"type": "str"},
    "capacity": {"type": "int"},
    "tags": dict(LIST_OPTION),
    "is_wheelchair_accessible": {"type": "bool"},
    "audio_device_name": {"type": "str"},
    "video_device_name": {"type": "str"},
    "display_device_name": {"type": "str"},
    "street": {"type": "str"},
    "city": {"type": "str"},
    "state": {"type": "str"},
    "postal_code": {"type": "str"},
    "country_or_region": {"type": "str"},
    "phone": {"type": "str"},
    "geo_coordinates": {"type": "str"},
}

SECTIONS = ("calendar", "permissions", "place")
"""The spec's sections (dict options): only their fields given are passed on."""

SPEC_ARGSPEC: dict[str, dict[str, Any]] = {
    "alias": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "name": {"type": "str"},
    "type": {"type": "str", "choices": ["room", "equipment", "shared"]},
    "display_name": {"type": "str"},
    "sam": {"type": "str"},
    "upn": {"type": "str"},
    "email": {"type": "str"},
    "addresses": dict(LIST_OPTION),
    "ou": {"type": "str"},
    "capacity": {"type": "int"},
    "calendar": {"type": "dict", "options": CALENDAR_ARGSPEC},
    "permissions": {"type": "dict", "options": PERMISSIONS_ARGSPEC},
    "place": {"type": "dict", "options": PLACE_ARGSPEC},
    "room_lists": dict(LIST_OPTION),
    "create_room_lists": {"type": "bool", "default": False},
    "hidden_from_address_lists": {"type": "bool"},
    "workspace": {"type": "bool"},
}
"""The spec's fields (pswrap.desired.spec.MailboxSpec); a test keeps them equal to the model."""

RUN_ARGSPEC: dict[str, dict[str, Any]] = {
    "wait": {"type": "bool", "default": True},
    "sync_timeout": {"type": "float", "default": 600},
    "hold": {"type": "str", "choices": ["anchor", "staging-ou", "scheduler", "none"]},
}


def spec_of(params: dict[str, Any]) -> dict[str, Any]:
    """The mailbox spec the options declare: only the fields given (pswrap leaves the rest alone)."""
    spec = {
        k: params[k] for k in SPEC_ARGSPEC if k != "state" and k not in SECTIONS and params.get(k) is not None
    }
    for section in SECTIONS:
        value = params.get(section)
        if value is not None:
            spec[section] = {k: v for k, v in value.items() if v is not None}
    return spec


def link_of(ps: Any, alias: str, exists: bool) -> dict[str, Any] | None:
    """The link as `pswrap mailbox show` reads it, or None when there is no mailbox."""
    if not exists:
        return None
    shown = ps.show_mailbox(alias)
    link: dict[str, Any] = shown.link.to_json()
    return link


def outcome(result: Any) -> dict[str, Any]:
    """The module's return values from pswrap's MailboxResult."""
    return {
        "changed": bool(result.changed),
        "operation": result.operation,
        "status": result.status,
        "changes": [c.to_json() for c in result.changes],
        "drift": [d.to_json() for d in result.drift],
        "mailbox": result.mailbox,
        "immutable_id": result.immutable_id,
    }


def diff_of(alias: str, changes: list[Any]) -> dict[str, Any]:
    """Ansible's diff: each changed field (or, in check mode, each that would change) before and after;
    a mailbox created shows as `mailbox: null -> alias`."""
    return {
        "before_header": alias,
        "after_header": alias,
        "before": {c.field: c.before for c in changes},
        "after": {c.field: c.after for c in changes},
    }


def present(module: AnsibleModule, ps: Any) -> dict[str, Any]:
    params = module.params
    out = ps.apply_mailbox(
        spec_of(params),
        dry_run=module.check_mode,
        wait=params["wait"],
        sync_timeout=params["sync_timeout"],
        hold=params["hold"],
        check=False,
    )
    ret = outcome(out.result)
    if module._diff:
        ret["diff"] = diff_of(params["alias"], out.result.changes)
    ret["error"] = out.result.error
    if out.result.error is None:
        ret["link"] = link_of(ps, params["alias"], out.result.mailbox is not None)
    return ret


def absent(module: AnsibleModule, ps: Any) -> dict[str, Any]:
    """Removal through pswrap's API (`remove_mailbox`), where the installed pswrap has it."""
    params = module.params
    remove = getattr(ps, "remove_mailbox", None)
    if remove is None:
        from pswrap.errors import BadInput

        raise BadInput(
            f"state=absent: this pswrap cannot remove mailboxes yet; {params['alias']} was not changed",
            hint="use state=present, or install a pswrap with `pswrap mailbox remove`",
        )
    out = remove(
        params["alias"],
        dry_run=module.check_mode,
        wait=params["wait"],
        sync_timeout=params["sync_timeout"],
        check=False,
    )
    ret = outcome(out.result)
    if out.result.status == "refused" and not exists(ps, params["alias"]):
        # Removal refuses an alias it cannot find; for state=absent a mailbox that is not there is done.
        ret.update(changed=False, status="unchanged", changes=[], operation=None)
        out.result.error = None
    if module._diff:
        ret["diff"] = diff_of(params["alias"], out.result.changes if ret["changed"] else [])
    ret["error"] = out.result.error
    ret["link"] = None
    return ret


def exists(ps: Any, alias: str) -> bool:
    """Whether Exchange Online has a mailbox with this alias (`pswrap mailbox show` finds it)."""
    from pswrap.errors import BadInput

    try:
        ps.show_mailbox(alias)
    except BadInput:
        return False
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={**CONNECTION_ARGSPEC, **SPEC_ARGSPEC, **RUN_ARGSPEC},
        supports_check_mode=True,
    )
    require_pswrap(module)
    ret: dict[str, Any] = {}
    # pswrap_calls fails the task on a PswrapError raised here (after its stdout redirect has ended).
    with pswrap_calls(module), connect(module.params) as ps:
        ret = present(module, ps) if module.params["state"] == "present" else absent(module, ps)
    error = ret.pop("error")
    if error is not None:  # an error pswrap returned in its result (the changes made before it are kept)
        fail_with(module, error, **ret)
    ret["link_state"] = ret["link"]["state"] if ret.get("link") else None
    module.exit_json(**ret)


if __name__ == "__main__":
    main()
