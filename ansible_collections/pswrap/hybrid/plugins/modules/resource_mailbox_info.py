#!/usr/bin/python
# Copyright: pswrap contributors
# MIT License (the same as the pswrap package)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_mailbox_info
short_description: Read resource mailboxes and their link to AD (pswrap mailbox show and list)
description:
  - With O(alias), one mailbox in the shape of pswrap's spec (what M(pswrap.hybrid.resource_mailbox)
    accepts) and its link to the AD account, as C(pswrap mailbox show) reads them.
  - Without it, the tenant's room, equipment and shared mailboxes with their link state, read in bulk, as
    C(pswrap mailbox list) does.
  - Reads only; it never changes anything.
version_added: 0.1.0
author:
  - pswrap contributors (!UNKNOWN)
extends_documentation_fragment:
  - pswrap.hybrid.connection
attributes:
  check_mode:
    support: full
    description: It reads only, in check mode too.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  alias:
    description:
      - The mailbox to show. A mailbox that does not exist fails the task (exit code 2, C(BadInput)).
    type: str
  type:
    description: Without O(alias), list only this type.
    type: str
    choices: [room, equipment, shared]
  unlinked:
    description: Without O(alias), list only mailboxes that are not linked to an AD account.
    type: bool
    default: false
  drift:
    description:
      - Without O(alias), list only mailboxes where Exchange Online, Entra ID and AD do not line up, and
        say what (C(drift) of each row).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: One room as a spec, and its link
  pswrap.hybrid.resource_mailbox_info:
    target: corp
    alias: room-4-12
  delegate_to: localhost
  register: room

- name: Its booking window
  ansible.builtin.debug:
    msg: "{{ room.mailbox.spec.calendar.booking_window_days }} days, {{ room.mailbox.link.state }}"

- name: Every room that is not linked yet
  pswrap.hybrid.resource_mailbox_info:
    target: corp
    type: room
    unlinked: true
  delegate_to: localhost
  register: unlinked
"""

RETURN = r"""
mailbox:
  description:
    - With O(alias), the mailbox as C(pswrap mailbox show -o json) prints it, C(spec) (the declared-state
      fields, as M(pswrap.hybrid.resource_mailbox) takes them) and C(link).
  returned: when alias is given
  type: dict
  sample: {spec: {alias: room1, type: room, calendar: {booking_window_days: 180}}, link: {state: linked}}
mailboxes:
  description: Without O(alias), one row per mailbox as C(pswrap mailbox list -o json) prints it.
  returned: when alias is not given
  type: list
  elements: dict
  sample: [{alias: room1, type: room, email: room1@corp.example, synced: true, link_state: linked}]
error:
  description: pswrap's error (type, message, hint, exit_code) and what its exit code means (meaning).
  returned: failed
  type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pswrap.hybrid.plugins.module_utils.pswrap_common import (
    CONNECTION_ARGSPEC,
    connect,
    pswrap_calls,
    require_pswrap,
)

INFO_ARGSPEC: dict[str, dict[str, Any]] = {
    "alias": {"type": "str"},
    "type": {"type": "str", "choices": ["room", "equipment", "shared"]},
    "unlinked": {"type": "bool", "default": False},
    "drift": {"type": "bool", "default": False},
}


def main() -> None:
    module = AnsibleModule(argument_spec={**CONNECTION_ARGSPEC, **INFO_ARGSPEC}, supports_check_mode=True)
    require_pswrap(module)
    params = module.params
    ret: dict[str, Any] = {"changed": False}
    with pswrap_calls(module), connect(params) as ps:
        if params["alias"]:
            ret["mailbox"] = ps.show_mailbox(params["alias"]).to_json()
        else:
            rows = ps.list_mailboxes(type=params["type"], unlinked=params["unlinked"], drift=params["drift"])
            ret["mailboxes"] = [row.to_json() for row in rows]
    module.exit_json(**ret)


if __name__ == "__main__":
    main()
