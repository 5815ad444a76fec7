"""The preflight: read-only checks that tell an admin, before anything changes, whether the runbook can work.

Admins hit most failures of this runbook before its first cmdlet: a retired module, an old sync engine,
the certificate in the wrong store, a tenant that blocks hard match. Each check here reads facts with
read-only steps (or, for the connection itself, what the client saw), then judges them with the pure
functions of `pswrap.workflows.checks` (one module per area), so every outcome is testable from canned
step results. Every outcome short of pass
carries the one thing to do about it and the documented source it rests on.

`pswrap doctor` prints all checks; `blocking_failures` is what `mailbox create` calls before it plans:
the failed checks that matter to the chosen profile and hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from pswrap import errors as e
from pswrap.steps.model import Need, Profile
from pswrap.steps.preflight import CERTIFICATE_STEPS, MODULE_STEPS
from pswrap.workflows.checks.ad import dc_check_name, judge_dc, judge_ou
from pswrap.workflows.checks.connection import judge_encryption, judge_host_error
from pswrap.workflows.checks.kerberos import kerberos_checks
from pswrap.workflows.checks.model import Check, failed, not_checked, passed
from pswrap.workflows.checks.modules import MODULE_PATTERNS, REQUIRED_MODULES, judge_modules
from pswrap.workflows.checks.sync import (
    default_hold,
    judge_anchor,
    judge_connect_version,
    judge_cycle,
    judge_exchange_route,
    judge_leases,
    judge_scheduler,
    judge_staging_mode,
)
from pswrap.workflows.checks.tenant import (
    connect_check_name,
    judge_certificate,
    judge_connect,
    judge_hard_match,
    judge_soft_match,
)
from pswrap.workflows.preflight_permissions import add_permission_checks

PROFILE_NEEDS: dict[Profile, tuple[Need, ...]] = {
    "modern": ("ad", "adsync", "exo", "graph"),
    "hybrid-tools": ("ad", "adsync", "hybrid"),
    "legacy": (),
}
NEED_ORDER: tuple[Need, ...] = ("adsync", "ad", "exo", "graph", "hybrid")
"""Which need's step probes a host that several needs map to: one without a connect step first."""


class DoctorSession(Protocol):
    """What the preflight needs from `pswrap.remote.session.Session`."""

    target: Any

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any: ...


Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def hosts_for(target: Any, needs: Sequence[Need]) -> dict[str, list[Need]]:
    """The distinct hosts the needs map to, each with its needs in probing order."""
    mapping: Mapping[str, str] = getattr(target, "hosts", {}) or {}
    hosts: dict[str, list[Need]] = {}
    for need in NEED_ORDER:
        if need in needs:
            host = str(mapping.get(need) or getattr(target, "host", None) or "the target")
            hosts.setdefault(host, []).append(need)
    return hosts


@dataclass
class _Run:
    session: DoctorSession
    profile: Profile
    hold: str | None
    now: datetime
    progress: Progress
    checks: list[Check] = field(default_factory=list)
    effective_hold: str | None = None
    """The hold whose prerequisites the AD checks judge: the one chosen, else mailbox create's default
    for the sync server's anchor (`default_hold`), once the settings are read."""
    down: set[str] = field(default_factory=set)
    host_checks: dict[str, str] = field(default_factory=dict)
    """The name of each host's reach-and-sign-in check, which that host's other checks wait for."""
    """Hosts that could not be reached or refused the sign-in: nothing more is sent to them."""
    known: Mapping[str, Any] = field(default_factory=dict)
    """Results of parameterless read steps the caller made in this same run, by step id: not read twice."""

    strict: bool = False
    """For a workflow's preflight: a read that finally failed below PowerShell (the credentials refused,
    the host unreachable, the retries spent) is raised as itself (exit 3/4), not judged as a check."""

    def step(self, step_id: str, **params: Any) -> tuple[Any | None, Exception | None]:
        if not params and self.known.get(step_id) is not None:
            return self.known[step_id], None
        try:
            return self.session.step(step_id, params=params or None), None
        except (e.BadInput, e.PasswordSourceMissing):
            raise  # a missing password source: exit 2 naming the setting, not a failed sign-in check
        except e.PswrapError as exc:
            if self.strict and isinstance(exc, e.TransportError):
                raise
            return None, exc

    def not_checked(self, check_id: str, name: str, host: str) -> Check:
        return not_checked(
            check_id,
            name,
            f"{host} could not be reached or refused the sign-in",
            self.host_checks.get(host, f"reach and sign in to {host}"),
        )


def run_checks(
    session: DoctorSession,
    *,
    profile: Profile = "modern",
    hold: str | None = None,
    now: datetime | None = None,
    progress: Progress = _quiet,
    known: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> list[Check]:
    """Every check that applies to the profile, in checklist order (connection, modules, sync, tenant, AD).

    `known`: what the caller already read in this run (`sync/get-settings`, `graph/get-sync-features`...,
    by step id), judged as read instead of asking the server a second time. `strict`: a transport or
    sign-in failure is raised (a workflow's preflight) instead of reported as a failed check (doctor).
    """
    target = session.target
    run = _Run(
        session,
        profile,
        hold,
        now or datetime.now(timezone.utc),
        progress,
        effective_hold=hold,
        known=known or {},
        strict=strict,
    )
    needs = PROFILE_NEEDS[profile]
    hosts = hosts_for(target, needs)
    run.checks.append(judge_encryption(target))
    run.checks.extend(kerberos_checks(target))  # this machine's Kerberos set-up, before connecting
    module_checks: list[Check] = []
    for host, host_needs in hosts.items():
        progress(f"listing modules on {host}")
        inventory, error = run.step(MODULE_STEPS[host_needs[0]], Name=list(MODULE_PATTERNS))
        host_check = judge_host_error(host, host_needs, error)
        run.host_checks[host] = host_check.name
        run.checks.append(host_check)
        if isinstance(error, e.TransportError):
            run.down.add(host)
            module_checks.append(run.not_checked(f"modules.{host}", f"modules on {host}", host))
        elif error is not None:
            module_checks.append(
                failed(
                    f"modules.{host}",
                    f"modules on {host}",
                    f"could not list them: {error}",
                    "the endpoint must let the remoting account run scripts with Get-Module and "
                    "Get-PSSnapin (one generated by `pswrap jea` does, docs/jea.md); check "
                    "configuration_name "
                    f"of the target, then `pswrap run {MODULE_STEPS[host_needs[0]]} --param Name=*`",
                )
            )
        else:
            module_checks.extend(judge_modules(host, host_needs, inventory))
    run.checks.extend(module_checks)
    _sync_checks(run, hosts)
    if profile == "modern":
        _tenant_checks(run, hosts)
    _ad_checks(run, hosts)
    add_permission_checks(run, hosts, profile=profile)
    return run.checks


def _host_of(hosts: Mapping[str, list[Need]], need: Need) -> str | None:
    return next((h for h, ns in hosts.items() if need in ns), None)


def _sync_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    host = _host_of(hosts, "adsync")
    if host is None:
        return
    names = {
        "sync.connect-version": "Entra Connect Sync version",
        "sync.anchor": "sourceAnchor attribute",
        "sync.staging-mode": "sync server not in staging mode",
        "sync.scheduler": "sync scheduler",
        "sync.cycle": "no sync cycle in progress",
        "sync.leases": "no pswrap lease left on the scheduler",
    }
    if host in run.down:
        run.checks.extend(run.not_checked(i, n, host) for i, n in names.items())
        return
    run.progress("reading the sync server")
    settings, error = run.step("sync/get-settings")
    if settings is not None and run.profile == "modern" and run.hold is None:
        run.effective_hold = default_hold(settings.anchor_attribute)
    if settings is not None:
        anchor = (
            judge_anchor(settings, run.hold)
            if run.profile == "modern"
            else passed(
                "sync.anchor", names["sync.anchor"], f"{settings.anchor_attribute} (no hard match here)"
            )
        )
        run.checks += [judge_connect_version(settings), anchor, judge_staging_mode(settings)]
        if run.profile == "modern":
            run.checks.append(judge_exchange_route(settings))
    else:
        run.checks += [_unread(i, names[i], "sync/get-settings", error) for i in list(names)[:3]]
    scheduler, error = run.step("sync/get-scheduler")
    if scheduler is not None:
        run.checks += [judge_scheduler(scheduler, run.hold), judge_cycle(scheduler)]
    else:
        run.checks += [
            _unread(i, names[i], "sync/get-scheduler", error) for i in ("sync.scheduler", "sync.cycle")
        ]
    if run.profile == "modern":
        leases, error = run.step("sync/list-leases")
        run.checks.append(
            judge_leases(leases, run.now)
            if leases is not None
            else _unread("sync.leases", names["sync.leases"], "sync/list-leases", error)
        )


def _unread(check_id: str, name: str, step_id: str, error: Exception | None) -> Check:
    return failed(
        check_id,
        name,
        f"could not be read ({step_id}): {error}",
        "fix the module check of that host first; if it passes, `pswrap run "
        f"{step_id}` runs that step alone and shows its whole error",
    )


def _tenant_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    target = run.session.target
    thumbprint = getattr(target, "certificate_thumbprint", None)
    cert_ok = True
    cert_hosts: dict[str, Need] = {}
    cloud: tuple[Need, ...] = ("exo", "graph")
    for need in cloud:
        host = _host_of(hosts, need)
        if host is not None:
            cert_hosts.setdefault(host, need)
    for host, need in cert_hosts.items():
        check_id, name = f"tenant.certificate.{host}", f"app certificate in LocalMachine\\My on {host}"
        if host in run.down:
            run.checks.append(run.not_checked(check_id, name, host))
            cert_ok = False
            continue
        if not thumbprint:
            run.checks.append(
                failed(
                    check_id,
                    name,
                    "certificate_thumbprint is not configured",
                    "set certificate_thumbprint "
                    "(and app_id, organization, tenant_id) in the target: app-only auth (docs/sources.md "
                    "§1.4)",
                )
            )
            cert_ok = False
            continue
        run.progress(f"reading the app certificate on {host}")
        cert, error = run.step(CERTIFICATE_STEPS[need], CertificateThumbprint=thumbprint)
        check = (
            judge_certificate(host, cert, run.now)
            if cert is not None
            else _unread(check_id, name, CERTIFICATE_STEPS[need], error)
        )
        cert_ok = cert_ok and check.status != "fail"
        run.checks.append(check)
    features_read = False
    connects: tuple[tuple[Need, str], ...] = (("exo", "exo/connect"), ("graph", "graph/connect"))
    for need, connect_step in connects:
        host = _host_of(hosts, need)
        if host is None:
            continue
        svc = "Exchange Online" if need == "exo" else "Microsoft Graph"
        if host in run.down:
            run.checks.append(run.not_checked(f"tenant.connect.{need}", connect_check_name(need), host))
            continue
        run.progress(f"connecting to {svc}")
        result, error = run.step(connect_step)
        modules_failed = [
            c.name
            for c in run.checks
            if c.status == "fail"
            and c.id in {f"modules.{host}", *(f"modules.{host}.{m}" for m in REQUIRED_MODULES[need])}
        ]
        check = judge_connect(need, result, error, cert_ok, modules_failed)
        run.checks.append(check)
        if need == "graph" and check.status == "pass":
            features, error = run.step("graph/get-sync-features")
            if features is not None:
                run.checks += [judge_soft_match(features), judge_hard_match(features)]
                features_read = True
            else:
                run.checks += [
                    _unread("tenant.block-soft-match", "BlockSoftMatch", "graph/get-sync-features", error),
                    _unread(
                        "tenant.block-hard-match",
                        "BlockCloudObjectTakeoverThroughHardMatch",
                        "graph/get-sync-features",
                        error,
                    ),
                ]
                features_read = True
    if not features_read and _host_of(hosts, "graph") is not None:
        why = "Microsoft Graph did not connect (the tenant's switches are read through Graph)"
        first = connect_check_name("graph")
        run.checks += [
            not_checked("tenant.block-soft-match", "BlockSoftMatch", why, first),
            not_checked("tenant.block-hard-match", "BlockCloudObjectTakeoverThroughHardMatch", why, first),
        ]


def _ad_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    target = run.session.target
    host = _host_of(hosts, "ad")
    if host is None:
        return
    server: str | None = getattr(target, "domain_controller", None)
    ous = {"resource": getattr(target, "resource_ou", None)}
    if run.profile == "modern":  # only the modern profile's staging-ou hold uses a staging OU
        ous["staging"] = getattr(target, "staging_ou", None)
    if host in run.down:
        run.checks.append(run.not_checked("ad.dc", dc_check_name(server), host))
        for role in ous:
            run.checks.append(run.not_checked(f"ad.ou.{role}", f"{role} OU", host))
        return
    run.progress("asking the pinned domain controller for the OUs")
    wanted = [dn for dn in ous.values() if dn]
    report: Any | None = None
    error: Exception | None = None
    try:
        # Pinning reads the PDC emulator (ad/get-domain) when the target names no DC: a failure there
        # is this check's failure too.
        server = getattr(run.session, "pinned_dc", None) or server
    except e.PswrapError as exc:
        error = exc
    if error is None:
        report, error = run.step("ad/get-ous", Identity=wanted)
    if report is not None:
        server = report.server
    dc_check = judge_dc(server, report, error)
    run.checks.append(dc_check)
    scope = None
    sync_host = _host_of(hosts, "adsync")
    if wanted and sync_host is not None and sync_host not in run.down:
        scope, _ = run.step("sync/get-scope")
    for role, dn in ous.items():
        run.checks.extend(judge_ou(role, dn, report, scope, run.effective_hold, dc_check.name))  # type: ignore[arg-type]


# --- what `mailbox create` calls -----------------------------------------------------------------------

BLOCKING_PREFIXES: dict[Profile, tuple[str, ...]] = {
    "modern": ("connection.", "modules.", "sync.", "tenant.", "ad."),
    "hybrid-tools": ("connection.", "modules.", "sync.connect-version", "sync.staging-mode", "ad."),
    "legacy": (),
}
JUDGED_BY_THE_WORKFLOW = ("tenant.block-hard-match",)
"""Failures the mailbox workflow judges itself, with what it knows and the doctor does not (the match
mode: a soft match does not care about the hard-match block), and refuses with its own message."""


def blocking_failures(
    session: DoctorSession, *, profile: Profile, hold: str | None, known: Mapping[str, Any] | None = None
) -> list[Check]:
    """The failed checks that would make `mailbox create` fail or leave a half-done mailbox.

    A workflow refuses to start (exit 6) when this is not empty. Warnings never block; the hold is
    passed so its own prerequisites (anchor attribute, staging OU, scheduler state) count as failures
    only when that hold is the one chosen. A session that carries no `target` (the workflow's in-memory
    test doubles) is not checked: the checks need the target's hosts and tenant settings.
    """
    if profile == "legacy" or getattr(session, "target", None) is None:
        return []
    checks = run_checks(session, profile=profile, hold=hold, known=known, strict=True)
    return [
        c
        for c in checks
        if c.status == "fail"
        and c.id.startswith(BLOCKING_PREFIXES[profile])
        and c.id not in JUDGED_BY_THE_WORKFLOW
    ]


def describe_blocking(checks: Sequence[Check]) -> str:
    """The NeedsHuman message a workflow raises with the blocking checks."""
    lines = [f"{len(checks)} preflight check(s) failed:"]
    for check in checks:
        lines.append(f"  [FAIL] {check.name}: {check.found}")
        if check.fix:
            lines.append(f"         fix: {check.fix}")
    return "\n".join(lines)


def refuse_when_blocked(
    session: Any, *, profile: str, hold: str | None, known: Mapping[str, Any] | None = None
) -> None:
    """Raise NeedsHuman (exit 6) listing each blocking failure with its fix; the workflow's one call.

    `session` is any step session; without a `target` (a test double) nothing is checked. `known`: the
    workflow's own reads of this run (see `run_checks`).
    """
    if profile not in ("modern", "hybrid-tools") or getattr(session, "target", None) is None:
        return
    blocking = blocking_failures(session, profile=profile, hold=hold, known=known)  # type: ignore[arg-type]
    if blocking:
        refused = e.NeedsHuman(
            describe_blocking(blocking),
            hint="nothing was changed; `pswrap doctor` shows every check, with what passed",
        )
        refused.checks = [check.as_json() for check in blocking]  # the JSON error's `checks` list
        raise refused


@contextmanager
def explained_by_preflight(session: Any, *, profile: str, hold: str | None) -> Iterator[None]:
    """Around a workflow's fact reads: when one fails (a missing module, an unusable certificate, a DC
    that does not answer), refuse with the preflight's checklist (NeedsHuman, exit 6) if a check
    explains it, else let that step's own error through. Bad input is never second-guessed.

    Without it the admin sees one step's error (exit 5) where the preflight would have named the cause
    and its fix; with `hold` None the checks judge the hold the workflow would pick (`default_hold`).
    """
    try:
        yield
    except (e.BadInput, e.TransportError):
        raise  # bad input, refused credentials, an unreachable host: their own exit code (2, 3, 4)
    except e.PswrapError:
        refuse_when_blocked(session, profile=profile, hold=hold)
        raise


__all__ = [
    "blocking_failures",
    "describe_blocking",
    "explained_by_preflight",
    "refuse_when_blocked",
    "run_checks",
]
