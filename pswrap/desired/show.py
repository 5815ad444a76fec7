"""`mailbox show`: the current state in the spec's shape, and the link as read.

`show -o yaml > room.yaml` then `apply room.yaml` changes nothing: every field shown is one the spec
manages, written the way the diff compares it (principals by primary SMTP address). The link state goes
in YAML comments (so the file stays a spec), in a `link` object beside `spec` in JSON.
"""

from __future__ import annotations

from typing import Any

from pswrap.desired import facts, facts_access, identity, show_access
from pswrap.desired.diff import OBSERVED_NAME, PRINCIPAL_LISTS, shown
from pswrap.desired.spec import CalendarSpec, MailboxSpec
from pswrap.errors import BadInput
from pswrap.mastering import where_written
from pswrap.workflows.ports import StepSession


def spec_of(observed: facts.Observed, areas: facts_access.AreaFacts | None = None) -> dict[str, Any]:
    """The spec that describes the mailbox as it is (only fields pswrap reads back)."""
    mailbox = observed.mailbox
    assert mailbox is not None
    spec: dict[str, Any] = {
        "alias": mailbox.alias,
        "name": mailbox.name,
        "type": observed.mailbox_type,
        "display_name": mailbox.display_name,
        "email": mailbox.primary_smtp_address,
    }
    ad = areas.ad if areas is not None and areas.ad is not None and areas.ad.found else None
    if areas is not None and ad is not None:  # after the link: AD's values, which apply compares
        if where_written("display_name", areas.state) == "ad" and ad.display_name:
            spec["display_name"] = ad.display_name
        if where_written("email", areas.state) == "ad":
            spec["email"] = identity.split(list(ad.proxy_addresses))[0] or ad.mail or spec["email"]
    if mailbox.resource_capacity is not None and observed.mailbox_type == "room":
        spec["capacity"] = mailbox.resource_capacity
    calendar = observed.calendar
    if calendar is not None and observed.mailbox_type in ("room", "equipment"):
        section: dict[str, Any] = {}
        for name in CalendarSpec.model_fields:
            value = getattr(calendar, OBSERVED_NAME.get(name, name))
            section[name] = [shown(p) for p in value] if name in PRINCIPAL_LISTS else value
        spec["calendar"] = section
    if areas is not None:  # part 2: permissions, visibility, place data, room lists
        spec.update(show_access.sections(areas))
    MailboxSpec.model_validate(spec)  # what show prints must be a valid spec
    return {k: v for k, v in spec.items() if v is not None}


def show(session: StepSession, alias: str) -> dict[str, Any]:
    """`{spec, link}` for one mailbox; a missing one is bad input (exit 2), naming it."""
    observed = facts.read(session, MailboxSpec(alias=alias), calendar=True)
    if observed.mailbox is None:
        raise BadInput(
            f"there is no mailbox with the alias {alias} in Exchange Online",
            hint="`pswrap mailbox list` lists the resource mailboxes",
        )
    areas = facts_access.read(session, MailboxSpec(alias=alias), observed, everything=True)
    link = facts.read_link(session, observed)
    return {"spec": spec_of(observed, areas), "link": link_json(link)}


def link_json(link: facts.LinkFacts) -> dict[str, Any]:
    return {
        "synced": link.synced,
        "state": link.state,
        "cloud_immutable_id": link.cloud_immutable_id,
        "ad_account": link.ad_account,
        "ad_anchor": link.ad_anchor,
        "anchor_attribute": link.anchor_attribute,
        "anchors_agree": link.agree,
        "exchange_attributes_mastered_in": where_written("addresses", link.state),
    }


def show_text(shown_: dict[str, Any]) -> str:
    spec, link = shown_["spec"], shown_["link"]
    lines = [
        f"mailbox {spec['alias']} ({spec.get('type')}): {spec.get('display_name')} <{spec.get('email')}>"
    ]
    for key in ("name", "capacity"):
        if key in spec:
            lines.append(f"  {key + ':':<45}{spec[key]}")
    for key, value in (spec.get("calendar") or {}).items():
        text = ", ".join(value) or "(none)" if isinstance(value, list) else value
        lines.append(f"  {'calendar.' + key + ':':<45}{text}")
    lines.extend(show_access.text_lines(spec))
    lines.extend("  " + line for line in link_lines(link))
    return "\n".join(lines)


def link_lines(link: dict[str, Any]) -> list[str]:
    agree = {True: "agree", False: "DISAGREE", None: "not both known"}[link["anchors_agree"]]
    return [
        f"link: {'synced' if link['synced'] else 'not synced'} ({link['state']})",
        f"cloud ImmutableId: {link['cloud_immutable_id'] or '-'}",
        f"AD anchor: {link['ad_anchor'] or '-'} ({link['ad_account'] or 'no AD account found'}, "
        f"{link['anchor_attribute'] or 'anchor attribute not read'}): {agree}",
        f"Exchange attributes mastered in: {link['exchange_attributes_mastered_in']}",
    ]


def show_yaml(shown_: dict[str, Any]) -> str:
    import yaml

    header = "".join(f"# {line}\n" for line in link_lines(shown_["link"]))
    return header + str(yaml.safe_dump(shown_["spec"], sort_keys=False, allow_unicode=False))
