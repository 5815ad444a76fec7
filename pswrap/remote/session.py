"""A session: everything one command run does on one target, step by step.

`Session.step(id, params=...)` is the whole flow of docs/design.md for one step — render, connect if needed,
run, parse — with the target's settings filled in (the pinned domain controller, the AD credential, the
tenant's app identity) and retries per the step's idempotence. One session owns one pool per need and
closes them when it ends; use it as a context manager.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pswrap.errors import (
    AlreadyExists,
    ConfigError,
    NotConnected,
    PswrapError,
    Refused,
    TransportError,
)
from pswrap.remote import embedded_lab
from pswrap.remote.invoke import Context, run_script
from pswrap.remote.pools import Pool, Pools
from pswrap.remote.retry import NotSent, RetryPolicy, call_with_retries
from pswrap.remote.target import Target, load_target, no_target_configured
from pswrap.remote.target_settings import env_name
from pswrap.render.script import Script
from pswrap.results.base import PSModel
from pswrap.secrets import Secret
from pswrap.steps.model import Need, Profile, Step

log = logging.getLogger("pswrap.remote")

NOISY_LOGGERS = (
    "pypsrp", "psrpcore", "spnego", "requests", "urllib3", "requests_credssp", "requests_kerberos",
)  # fmt: skip

TARGET_PARAMS: dict[str, str] = {
    "CredentialUser": "ad_credential_user",
    "AppId": "app_id",
    "ClientId": "app_id",
    "Organization": "organization",
    "TenantId": "tenant_id",
    "CertificateThumbprint": "certificate_thumbprint",
}
"""Session parameter → the target setting (attribute and configuration key) that supplies it."""
OPTIONAL_SESSION_PARAMS = ("CredentialUser", "CredentialPassword")
"""Supplied only when configured (the AD credential for the second hop)."""


class Session:
    """One command run on one target; not thread-safe (one pipeline at a time per pool)."""

    def __init__(
        self,
        target: Target,
        *,
        profile: Profile | None = None,
        lab: AbstractContextManager[Any] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.target = target
        self.profile: Profile = profile or target.profile
        self.retry_policy = retry_policy or RetryPolicy.from_env()
        self._pools = Pools(target)
        self._lab = lab
        self._pinned_dc: str | None = target.domain_controller
        self._ad_password: Secret | None = None
        self.retries: dict[str, int] = {}
        """Retries per step id during this session (what --verbose logs, countable by tests)."""
        self.reopened: int = 0
        """Pools reopened after their shell died."""
        self.operation: str | None = None
        """The journal operation the next steps belong to (the audit log names it); else the one the
        journaled runner set in `pswrap.audit.CURRENT_OPERATION`."""
        self.closed = False

    # --- context manager ----------------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._pools.close()
        finally:
            if self._lab is not None:
                lab, self._lab = self._lab, None
                lab.__exit__(None, None, None)

    # --- what the target supplies -------------------------------------------------------------------

    @property
    def pinned_dc(self) -> str:
        """The domain controller every AD step talks to this run: configured, else the PDC emulator."""
        if self._pinned_dc is None:
            from pswrap.results.models import Domain

            domain = self.step("ad/get-domain")
            assert isinstance(domain, Domain)
            self._pinned_dc = domain.pdc_emulator
            log.info("pinned domain controller %s (the PDC emulator) for this run", self._pinned_dc)
        return self._pinned_dc

    def _profile_for(self, step: Step) -> Profile:
        if self.profile in step.profiles:
            return self.profile
        usable = [p for p in step.profiles if p != "legacy"]
        return usable[0] if usable else step.profiles[0]

    def _session_params(
        self, step: Step, params: Mapping[str, object], *, for_display: bool
    ) -> dict[str, object]:
        filled = dict(params)
        given = {k.lower() for k in params}
        for name in step.session_params:
            if name.lower() in given:
                continue
            if name == "Server":
                if for_display and self._pinned_dc is None:
                    filled[name] = "<PDC emulator, read by ad/get-domain at run time>"
                else:
                    filled[name] = self.pinned_dc
            elif name == "CredentialPassword":
                if self.target.ad_credential_user and self.target.ad_credential_password_source:
                    # For display the secret is not resolved (no prompt); it is masked either way.
                    if for_display:
                        filled[name] = Secret("<from the target's AD credential>")
                    else:
                        if self._ad_password is None:  # resolved once per session (may prompt)
                            self._ad_password = self.target.ad_credential_password
                        filled[name] = self._ad_password
            elif name in TARGET_PARAMS:
                key = TARGET_PARAMS[name]
                value = getattr(self.target, key)
                if value:
                    filled[name] = value
                elif name not in OPTIONAL_SESSION_PARAMS:
                    raise ConfigError(
                        f"target {self.target.name} has no {key}, which {step.id} needs (parameter {name})",
                        hint=f'add {key} = "..." to [targets.{self.target.name}] or set {env_name(key)}',
                    )
        return filled

    # --- rendering ------------------------------------------------------------------------------------

    def _render(self, step: Step, choices: Mapping[str, str] | None, params: Mapping[str, object]) -> Script:
        from pswrap.render.engine import render

        return render(step, profile=self._profile_for(step), choices=dict(choices or {}), params=params)

    def script(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> Script:
        """The script `step` would run, session parameters filled in; runs nothing (for --dry-run)."""
        from pswrap import steps

        step = steps.get(step_id)
        filled = self._session_params(step, params or {}, for_display=True) if not step.is_legacy else params
        return self._render(step, choices, filled or {})

    # --- running --------------------------------------------------------------------------------------

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        timeout: float | None = None,
        verify: Callable[[], PSModel | None] | None = None,
        retry_busy: bool = False,
    ) -> PSModel:
        """Run one step and return its typed result.

        `verify` is the read-back for a step that is not idempotent: after a transient failure pswrap
        calls it; None means "the change is not there" (the step is tried again), a model means it
        applied after all (that model is returned). `retry_busy` also retries SyncBusy.
        """
        from pswrap import steps

        if self.closed:
            raise PswrapError("this session is closed", hint="open a new one with open_session()")
        step = steps.get(step_id)
        refuse_legacy(step)
        assert step.needs is not None
        filled = self._session_params(step, params or {}, for_display=False)
        script = self._render(step, choices, filled)
        limit = timeout if timeout is not None else self.target.step_timeout
        applied: list[PSModel] = []

        def did_not_apply() -> bool:
            assert verify is not None
            result = verify()
            if result is not None:
                applied.append(result)
                return False
            return True

        sent_again: list[bool] = []

        def on_retry(_n: int, _err: PswrapError) -> None:
            self.retries[step.id] = self.retries.get(step.id, 0) + 1
            sent_again.append(True)

        policy = self.retry_policy
        if policy.max_time is None:
            policy = dataclasses.replace(policy, max_time=limit)  # retries end at the step's deadline
        outcome, error, result = "interrupted", None, None
        try:
            result = call_with_retries(
                lambda: self._attempt(step, script, limit),
                step_id=step.id,
                idempotent=step.idempotent,
                policy=policy,
                retry_busy=retry_busy,
                did_not_apply=did_not_apply if verify is not None else None,
                on_retry=on_retry,
            )
            outcome = "applied"
            return result
        except PswrapError as exc:
            if not applied and verify is not None and sent_again and isinstance(exc, AlreadyExists):
                # The first try was still running when the read-back looked (a lost reply does not mean
                # a finished command): the object our retry collided with may be our own. Look again.
                try:
                    late = verify()
                except PswrapError:
                    late = None
                if late is not None:
                    applied.append(late)
            if applied:
                log.info("%s failed in transit but the read-back shows it applied", step.id)
                outcome, result = "applied (read back)", applied[0]
                return applied[0]
            outcome, error = "failed", exc
            raise
        finally:
            if step.changes:
                self._audit(step, filled, outcome, error, result)

    def _audit(
        self, step: Step, params: Mapping[str, object], outcome: str, error: BaseException | None, result: Any
    ) -> None:
        """One audit line for a change (pswrap.audit); a failure to write it is logged, never raised
        over the step's own outcome."""
        from pswrap import audit

        try:
            audit.record(
                step_id=step.id,
                params=params,
                secret_names={p.name.lower() for p in step.params if p.secret},
                target=self.target.name,
                operation=self.operation or audit.CURRENT_OPERATION.get(),
                outcome=outcome,
                error=error,
                result=result,
            )
        except OSError as exc:
            log.warning("could not write the audit log (%s): %s", audit.audit_path(), exc.strerror)

    def _attempt(self, step: Step, script: Script, limit: float) -> PSModel:
        """One try: the pool (opened and connected), the pipeline, the parse.

        A shell that died between steps is found when the pipeline cannot even start: the pool is
        reopened once and reconnected, and the step runs again (nothing had run).
        """
        from pswrap.remote.classify import ShellGone
        from pswrap.remote.parse import parse_output

        assert step.needs is not None
        for last_try in (False, True):
            pool: Pool | None = None
            try:
                pool = self._prepare(step)
                output = run_script(pool.pool, script, limit=limit, ctx=self._context(pool))
            except NotSent as ns:
                stale = ns.error
                if isinstance(stale, TransportError) and stale.stale_session:
                    self._pools.reset_transport(step.needs)
                    if not last_try:
                        log.info("HTTP 400 on a reused connection; retrying once on a fresh one")
                        continue
                    stale.transient = False  # a 400 on a fresh connection is a real refusal
                    raise
                if isinstance(ns.error, ShellGone):
                    self._pools.discard(step.needs)
                    if not last_try:
                        self.reopened += 1
                        log.info(
                            "the %s pool's shell is gone; reopening it once and reconnecting", step.needs
                        )
                        continue
                elif isinstance(ns.error, TransportError):
                    self._pools.reset_transport(step.needs)
                raise
            except ShellGone:
                self._pools.discard(step.needs)  # died while the step ran; a retry (if allowed) reopens
                raise
            except TransportError:
                self._pools.reset_transport(step.needs)
                raise
            except NotConnected:
                if pool is not None:
                    pool.connected = False  # lost its cloud connection: the next attempt reconnects
                raise
            return parse_output(step, output)
        raise AssertionError("unreachable")

    def _prepare(self, step: Step) -> Pool:
        """The step's pool, open and connected; any failure here means the step itself was not sent."""
        assert step.needs is not None
        try:
            pool = self._pools.get(step.needs)
            self._ensure_connected(pool, step)
            return pool
        except PswrapError as err:
            raise NotSent(err) from None

    def _context(self, pool: Pool) -> Context:
        need = pool.need
        return Context(
            where=self._pools.where(need),
            target=self.target.name,
            need=need,
            operation_timeout=self.target.operation_timeout,
            on_broken=lambda: self._pools.reset_transport(need),
        )

    def _ensure_connected(self, pool: Pool, step: Step) -> None:
        """Run the need's connect step in this pool before its first step (and after a reopen)."""
        from pswrap import steps
        from pswrap.remote.parse import parse_output

        connect_id = steps.CONNECT_STEPS.get(pool.need)
        if step.before_connect:
            return  # a preflight step that diagnoses why the connect would fail
        if pool.connected or connect_id is None or connect_id == step.id:
            if connect_id == step.id:
                pool.connected = True
            return
        connect = steps.get(connect_id)
        script = self._render(connect, None, self._session_params(connect, {}, for_display=False))
        output = run_script(pool.pool, script, limit=self.target.step_timeout, ctx=self._context(pool))
        parse_output(connect, output)
        pool.connected = True
        log.info("connected the %s pool on %s (%s)", pool.need, pool.host, connect_id)

    def opened_needs(self) -> list[str]:
        return list(self._pools.opened_needs())

    def open_shells(self, needs: tuple[Need, ...]) -> None:
        """Open these needs' pools now, without their connect steps and without retries: a batch claims
        its sessions' shells before sharing out the work, so a server's shell quota shows at once
        (TransportError.shell_quota) instead of being waited out step by step."""
        for need in needs:
            self._pools.get(need)


def refuse_legacy(step: Step) -> None:
    """A legacy step renders (to explain the seed) but never runs: its service is retired."""
    if step.is_legacy or step.needs is None or step.result is None:
        r = step.retired
        raise Refused(
            f"{step.id} is a legacy step and is never run: "
            + (f"{r.service} was retired ({r.retired}); use {r.replacement}" if r else "it is retired"),
            hint="`pswrap render --profile legacy` shows the seed's script; run its replacement instead",
        )


def open_session(
    target: str | Target | None = None, *, profile: Profile | None = None, verbose: bool = False
) -> Session:
    """A session on a target (a name, a loaded Target, or None for the configured default).

    With no target configured anywhere, the embedded lab is used, and pswrap says so on stderr.
    """
    for name in NOISY_LOGGERS:
        # pypsrp logs whole messages at DEBUG; never let them through (docs/design.md: secrets never in logs).
        logging.getLogger(name).setLevel(logging.WARNING)
    ours = logging.getLogger("pswrap")
    if verbose and not ours.isEnabledFor(logging.INFO):
        ours.setLevel(logging.INFO)  # never lower it: --debug (DEBUG) implies --verbose
    if isinstance(target, Target):
        resolved = target
    else:
        announce = target is None and no_target_configured()
        resolved = load_target(target)
        if announce:
            print(
                f"pswrap: no target configured; using the embedded lab ({embedded_lab.describe()})",
                file=sys.stderr,
            )
    lab = None
    if resolved.is_lab and resolved.port == 0:
        lab, resolved = embedded_lab.start(resolved)
    return Session(resolved, profile=profile, lab=lab)
