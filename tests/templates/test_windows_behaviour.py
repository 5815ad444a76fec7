"""What a Windows admin checks in the rendered scripts that the catalogue cannot: Windows PowerShell 5.1
quirks and the order of effects on a real server. No PowerShell engine runs here, so these read the
rendered text (with tree-sitter where structure matters); each names the behaviour it protects."""

from __future__ import annotations

import re
from typing import Any

from pswrap.render.engine import render
from tests.templates.catalogue_check import parse

LEASE = {"LeaseName": "pswrap-lease-op1", "DeadlineUtc": "2026-11-27T12:00:00Z"}


def _block(text: str, opener: str) -> str:
    """The text of a `{ ... }` block that starts at `opener` (braces counted; templates quote none)."""
    start = text.index(opener) + len(opener)
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    raise AssertionError(f"unbalanced block after {opener!r}")


def test_the_lease_task_restores_the_scheduler_before_removing_itself() -> None:
    # If Set-ADSyncScheduler fails at the deadline, the lease must still exist: sync/list-leases (and the
    # admin in Task Scheduler) then still sees why the scheduler is paused.
    block = _block(render("sync/install-lease", params=LEASE).text, "$restoreBlock = {")
    assert block.index("Set-ADSyncScheduler") < block.index("Unregister-ScheduledTask")
    # Counting the other leases: the running task is still registered when it decides to restore.
    assert "-ne $LeaseName" in block


def test_the_lease_trigger_gets_the_deadline_in_local_time() -> None:
    # A task's start boundary is wall-clock time on the server; $DeadlineUtc arrives as UTC text.
    text = render("sync/install-lease", params=LEASE).text
    assert "$deadlineLocal = $DeadlineUtc.ToLocalTime()" in text
    assert "New-ScheduledTaskTrigger -Once -At $deadlineLocal " in text


def test_the_lease_name_is_checked_before_it_is_quoted_into_the_task_command() -> None:
    text = render("sync/install-lease", params=LEASE).text
    check = text.index("if ($LeaseName -notmatch $leasePattern)")
    assert check < text.index("-LeaseName '\" + $LeaseName")
    # Only letters, digits and hyphens: nothing that could end the single-quoted argument.
    assert "$leasePattern = '^pswrap-lease-[A-Za-z0-9-]+$'" in text
    # The task needs no stored password (docs/design.md: lease principal) and runs if the server was down.
    assert "-UserId 'NT AUTHORITY\\SYSTEM' -LogonType ServiceAccount" in text
    assert "New-ScheduledTaskSettingsSet -StartWhenAvailable" in text


def _method_calls(text: str) -> list[str]:
    tree, source = parse(text)
    names: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type == "invokation_expression":
            member = next((c for c in node.children if c.type == "member_name"), None)
            if member is not None:
                names.append(source[member.start_byte : member.end_byte].decode())
    return names


def test_dictionary_lookups_work_on_generic_dictionaries() -> None:
    # Graph's AdditionalProperties is a Dictionary[string,object]: it implements IDictionary.Contains
    # explicitly, which Windows PowerShell 5.1 does not find by name, so the prologue reads Keys.
    text = render("graph/get-user", params={"UserId": "room1@contoso.com"}).text
    prologue = _block(text, "function Get-PswrapProperty {")
    calls = _method_calls(prologue)
    assert "Contains" not in calls and "ContainsKey" not in calls, calls
    assert re.search(r"foreach \(\$key in @\(\$InputObject\.Keys\)\)", prologue)


def test_the_emitter_unwraps_strings_and_booleans() -> None:
    # 5.1's ConvertTo-Json writes a PSObject-wrapped string's note properties as an object.
    text = render("graph/get-user", params={"UserId": "room1@contoso.com"}).text
    emitter = _block(text, "function ConvertTo-PswrapValue {")
    assert "if ($Value -is [string]) { return [string]$Value }" in emitter
    assert "if ($Value -is [bool]) { return [bool]$Value }" in emitter


def test_graph_connect_recognises_a_tenant_given_by_its_domain() -> None:
    # Get-MgContext reports TenantId as a GUID; the runbook's TenantId may be contoso.onmicrosoft.com.
    # Without a record of the connection, a second connect step would sign in again every time.
    params = {"ClientId": "app", "TenantId": "contoso.onmicrosoft.com", "CertificateThumbprint": "A" * 40}
    text = render("graph/connect", params=params).text
    record = (
        "$global:PswrapGraphConnection = $ClientId + ' ' + [string](Get-PswrapProperty $connected 'TenantId')"
    )
    assert text.index("Connect-MgGraph -ClientId") < text.index(record)
    assert "$recorded -eq ($ClientId + ' ' + $contextTenant + ' ' + $TenantId)" in text
    # Read without tripping Set-StrictMode on a variable that does not exist yet.
    assert "Get-Variable -Name 'PswrapGraphConnection*' -Scope Global -ErrorAction Stop" in text


def _not_found_judge(step_id: str, params: dict[str, object]) -> Any:
    """Test-PswrapNotFound of the rendered template, mirrored rule by rule: each `if (...) { return X }`
    line, in order, then the final `return (...)`. The .NET regexes used mean the same in Python's re
    (with PowerShell's -match ignoring case)."""
    profile = "hybrid-tools" if step_id.startswith("hybrid/") else "modern"
    text = render(step_id, profile=profile, params=params).text
    body = _block(text, "function Test-PswrapNotFound {")
    rules: list[tuple[str, str, bool]] = []
    reason_rule = r"if \(\[string\]\$ErrorRecord\.CategoryInfo\.Reason -eq '(\w+)'\) \{ return \$true \}"
    for raw in body.splitlines():
        line = raw.strip()
        found = re.match(r"if \(\$message -match '([^']+)'\) \{ return \$(true|false) \}", line)
        if found:
            rules.append(("message", found.group(1), found.group(2) == "true"))
            continue
        found = re.match(reason_rule, line)
        if found:
            rules.append(("reason", found.group(1), True))
            continue
        found = re.match(r"return \(\$message -match '([^']+)'\)", line)
        if found:
            rules.append(("final", found.group(1), True))
    assert [kind for kind, _, _ in rules] == ["message", "message", "reason", "final"], body

    def judge(message: str, reason: str) -> bool:
        for kind, value, answer in rules:
            if kind == "reason":
                if reason == value:
                    return True
            elif kind == "final":
                return bool(re.search(value, message, re.IGNORECASE))
            elif re.search(value, message, re.IGNORECASE):
                return answer
        return False

    return judge


def test_exchange_not_found_is_told_apart_from_several_matches() -> None:
    # docs/sources.md 7b item 9: the EXO and on-premises records, the REST body form, and the sibling error of
    # the same exception type that must stay an error. Told by id and type, never by the English text:
    # the same record translated (any language; a stand-in text here) is still not found.
    moe = "ManagementObjectNotFoundException"
    cases = {
        ("Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
         "couldn't be performed because object 'room1@contoso.com' couldn't be found on "
         "'DB6PR06A001DC06.EURPR06A001.prod.outlook.com'.", moe): True,
        ("Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|<translated>",
         ""): True,
        ("The operation couldn't be performed because object 'E15CAS-1' couldn't be found on "
         "'Solo-DC1.Solo.net'.", moe): True,
        ("<the same on-premises record, translated>", moe): True,
        ('Error while querying REST service. HttpStatusCode=404 ErrorMessage={"error":{"code":"NotFound",'
         '"message":"The operation couldn\\u0027t be performed because object \\u0027room1\\u0027 '
         'couldn\\u0027t be found on \\u0027EX1\\u0027."}}', "RestClientException"): True,
        ("Ex9E65A2|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
         "couldn't be performed because object: 'room1' matches multiple entries.", moe): False,
        ("The remote server returned an error: (401) Unauthorized.", "WebException"): False,
        ("The operation couldn't be performed because object 'x' couldn't be found on 'y'.", "Exception"):
            False,  # English words alone are not enough
    }  # fmt: skip
    for step_id, params in (
        ("exo/find-mailbox", {"Identity": "room1"}),
        ("exo/find-recipients", {"Alias": "room1"}),
        ("hybrid/find-remote-mailbox", {"Identity": "room1"}),
    ):
        judge = _not_found_judge(step_id, params)
        for (message, reason), not_found in cases.items():
            assert judge(message, reason) is not_found, (step_id, message)


def test_no_template_reads_the_script_scope() -> None:
    # `pswrap render --standalone` runs the template inside `& { }`: there `$script:` is the scope of the
    # file (or the prompt), not the template's, and Set-StrictMode makes reading an unset one an error.
    # Shared state is passed to functions as a parameter instead.
    from pswrap.steps import all_steps
    from tests.templates.variants import refusal, variants

    offenders = set()
    for step in all_steps():
        for variant in variants(step):
            if refusal(variant) is not None:
                continue
            script = render(step, profile=variant.profile, choices=variant.choices, params=variant.params())
            if re.search(r"\$script:", script.text, re.IGNORECASE):
                offenders.add(step.id)
    assert not offenders, sorted(offenders)


def test_run_results_read_optional_xml_elements_without_dereferencing_null() -> None:
    # Under Set-StrictMode, `$node.SelectSingleNode('x').InnerText` fails when x is absent; an export
    # error without a cd-error must still be reported, not crash the step.
    text = render("sync/get-run-results", params={"NumberRequested": 10}).text
    assert not re.search(r"SelectSingleNode\([^)]*\)\.", text), "a property of a node that may be absent"
    helper = _block(text, "function Get-PswrapNodeText {")
    assert "if ($null -eq $child) { return $null }" in helper


# Cmdlets documented to write nothing to the output stream as pswrap calls them (no -PassThru).
SILENT = {
    "set-strictmode",
    "import-module",
    "add-pssnapin",
    "move-adobject",
    "unregister-scheduledtask",
    "connect-exchangeonline",  # with -ShowBanner:$false; the banner is host output anyway
    "write-output",  # the emitter's one document
}


def _bare_cmdlet_calls(text: str) -> list[str]:
    """Cmdlets called as a statement of their own, whose output would join the step's output stream."""
    from tests.templates.catalogue_check import defined_functions

    tree, source = parse(text)
    functions = {name.lower() for name in defined_functions(tree, source)}
    found: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "pipeline" or node.parent is None or node.parent.type != "statement_list":
            continue
        holder = node.parent.parent
        if holder is not None and holder.type in ("array_expression", "sub_expression"):
            continue  # captured by @( ) or $( )
        chain = node.children[0] if node.children else None
        if chain is None or chain.type != "pipeline_chain":
            continue  # an assignment
        command = next((c for c in chain.children if c.type == "command"), None)
        if command is None:
            continue
        name = source[command.start_byte : command.end_byte].decode().split()[0]
        if name.lower() not in functions:
            found.append(name)
    return found


def test_only_the_emitter_writes_to_the_output_stream() -> None:
    # The runner parses exactly one JSON document: any other object on the output stream breaks it.
    # A cmdlet not documented to be silent (Set-ADSyncScheduler's output is not documented) is
    # discarded with `$null =`.
    from pswrap.steps import all_steps
    from tests.templates.variants import refusal, variants

    loud: set[tuple[str, str]] = set()
    for step in all_steps():
        if step.is_legacy:
            continue  # rendered for reading, never run
        for variant in variants(step):
            if refusal(variant) is not None:
                continue
            script = render(step, profile=variant.profile, choices=variant.choices, params=variant.params())
            calls = _bare_cmdlet_calls(script.text)
            loud |= {(step.id, name) for name in calls if name.lower() not in SILENT}
    assert not loud, sorted(loud)


def _replace_pattern(text: str, variable: str) -> re.Pattern[str]:
    """The regex of `<variable> -replace '<regex>', ''` in the text (PowerShell's -replace ignores case)."""
    match = re.search(re.escape(variable) + r" -replace '([^']+)', ''", text)
    assert match is not None, f"no -replace on {variable}"
    return re.compile(match.group(1), re.IGNORECASE)


def test_addresses_given_with_their_prefix_are_looked_up_without_it() -> None:
    # A proxy address copied from AD or Exchange carries SMTP:/smtp:; the lookups want the address alone.
    values = {"SMTP:room1@contoso.com": "room1@contoso.com", "smtp:room1@contoso.com": "room1@contoso.com"}
    values["o'brien@contoso.com"] = "o'brien@contoso.com"
    values["x400:c=US;a= ;p=Contoso;o=smtp:x;"] = "x400:c=US;a= ;p=Contoso;o=smtp:x;"

    graph = render("graph/find-users", choices={"by": "proxy-address"}, params={"Value": "a@b.c"}).text
    strip = _replace_pattern(graph, "($Value")
    assert "$filter = \"proxyAddresses/any(x:x eq 'smtp:\" + $quoted + \"')\"" in graph
    exo = render("exo/find-recipients", params={"Addresses": ["a@b.c"]}).text
    assert strip.pattern == _replace_pattern(exo, "[string]$address").pattern
    assert "Get-Recipient -Identity $plainAddress " in exo
    for given, looked_up in values.items():
        assert strip.sub("", given, count=1) == looked_up, given
