"""The public Python API: a session per target with the mailbox operations. The CLI is a thin layer on it.

    import pswrap.api

    with pswrap.api.connect("lab") as ps:
        result = ps.create_mailbox("Meeting Room 1", alias="room1", type="room")
        print(result.status, result.immutable_id)

A call returns a `MailboxResult` (`.to_json()` gives the documented JSON) and, by default, raises the
`pswrap.errors.PswrapError` that ended a failed or timed-out operation (`check=False` returns the result
with `.error` set instead, which is what the CLI uses to print JSON and exit with the error's code).
Connections open on first use, per profile, and close when the `with` block ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from pswrap.errors import BadInput, PswrapError, SyncBusy
from pswrap.journal import Journal, Operation, StepRecord
from pswrap.render.script import Script
from pswrap.secrets import Secret
from pswrap.workflows.inputs import MailboxRequest, TargetFacts
from pswrap.workflows.mailbox import KIND_CREATE, KIND_LINK, MailboxWorkflow
from pswrap.workflows.mailbox_dryrun import DryRun
from pswrap.workflows.ports import Progress, no_progress
from pswrap.workflows.results import MailboxResult

__all__ = ["DryRun", "MailboxResult", "Pswrap", "connect"]


class _LazySession:
    """Opens the real session on the first step: `--profile legacy --dry-run` never connects at all."""

    def __init__(self, owner: Pswrap, profile: str) -> None:
        self._owner = owner
        self._profile = profile

    def _real(self) -> Any:
        return self._owner._session(self._profile)

    @property
    def target(self) -> Any:
        """The connected target (the preflight reads its hosts and tenant settings)."""
        return self._real().target

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        verify: Any = None,
    ) -> Any:
        if verify is not None:  # a changing step's read-back (pswrap.workflows.steps_run)
            return self._real().step(step_id, choices=choices, params=params, verify=verify)
        return self._real().step(step_id, choices=choices, params=params)

    def script(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Script:
        script: Script = self._real().script(step_id, choices=choices, params=params)
        return script


class Pswrap:
    """The mailbox operations on one target. Use as a context manager (connections close at the end)."""

    def __init__(
        self,
        target: str | None = None,
        *,
        journal: Journal | None = None,
        progress: Progress = no_progress,
        confirm: Callable[[DryRun], bool] | None = None,
        session_factory: Callable[[str | None, str], Any] | None = None,
    ) -> None:
        self.target_name = target
        self.journal = journal if journal is not None else Journal()
        self.progress = progress
        self.confirm = confirm
        self._factory = session_factory
        self._stack = ExitStack()
        self._sessions: dict[str, Any] = {}
        self._target: Any | None = None

    def __enter__(self) -> Pswrap:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sessions.clear()
        self._stack.close()

    # --- sessions --------------------------------------------------------------------------------

    def _session(self, profile: str) -> Any:
        if profile not in self._sessions:
            if self._factory is not None:
                session = self._factory(self.target_name, profile)
            else:
                from pswrap.remote.session import open_session

                session = open_session(self.target_name, profile=profile)  # type: ignore[arg-type]
            self._stack.enter_context(session)
            self._sessions[profile] = session
            if self._target is None:
                self._target = getattr(session, "target", None)
        return self._sessions[profile]

    def target(self) -> Any:
        """The target's settings (loaded without connecting when no session is open yet)."""
        if self._target is None:
            from pswrap.remote.target import load_target

            self._target = load_target(self.target_name)
        return self._target

    def _target_facts(self) -> TargetFacts:
        return TargetFacts.of(self.target())

    def _default_profile(self) -> str:
        return str(getattr(self.target(), "profile", None) or "modern")

    def _workflow(self, profile: str, sign_in_password: Secret | None = None) -> MailboxWorkflow:
        return MailboxWorkflow(
            _LazySession(self, profile),
            self._target_facts(),
            journal=self.journal,
            progress=self.progress,
            confirm=self.confirm,
            sign_in_password=sign_in_password,
        )

    # --- mailbox operations ---------------------------------------------------------------------

    def create_mailbox(
        self,
        name: str,
        *,
        alias: str,
        type: str = "room",
        sam: str | None = None,
        upn: str | None = None,
        email: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        capacity: int | None = None,
        profile: str | None = None,
        hold: str | None = None,
        match: str | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        dry_run: bool = False,
        check: bool = True,
        exchange_attributes: str | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
    ) -> Any:
        """Create (or converge) a room, equipment or shared mailbox managed from on-prem AD.

        Returns a `MailboxResult`, or a `DryRun` (the plan and its scripts) when `dry_run`.
        `exchange_attributes` (auto, cloud, stamp, none) says who masters the Exchange attributes after the
        link; `allow_sign_in` keeps the account able to sign in (Teams Rooms), with `sign_in_password` for
        the AD account pswrap creates (docs/mastering.md).
        """
        req = MailboxRequest(
            name=name,
            alias=alias,
            type=type,
            sam=sam,
            upn=upn,
            email=email,
            ou=ou,
            display_name=display_name,
            capacity=capacity,
            profile=profile or self._default_profile(),
            hold=hold,
            match=match,
            wait=wait,
            timeout=timeout,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
        )
        out = self._workflow(req.profile, sign_in_password).create(req, dry_run=dry_run)
        return _checked(out, check)

    def link_mailbox(
        self,
        mailbox: str,
        *,
        ad_user: str | None = None,
        create_ad_user: bool = False,
        sam: str | None = None,
        upn: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        profile: str | None = None,
        hold: str | None = None,
        match: str | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        dry_run: bool = False,
        check: bool = True,
        add_addresses: bool = False,
        exchange_attributes: str | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
    ) -> Any:
        """Link an existing cloud mailbox to an existing AD account (`ad_user`) or a new one.

        The account must carry every address of the mailbox: one pswrap creates does; an existing one that
        lacks some is refused (exit 6) unless `add_addresses` lets pswrap add them (docs/mastering.md)."""
        base = MailboxRequest(
            name=mailbox,
            alias=mailbox,
            sam=sam,
            upn=upn,
            ou=ou,
            display_name=display_name,
            profile=profile or self._default_profile(),
            hold=hold,
            match=match,
            wait=wait,
            timeout=timeout,
            add_addresses=add_addresses,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
        )
        if base.profile != "modern":
            raise BadInput(
                f"mailbox link needs the modern profile, not {base.profile}",
                hint="the cloud mailbox exists already; only the modern profile links it (--profile modern)",
            )
        out = self._workflow(base.profile, sign_in_password).link(
            mailbox, ad_user=ad_user, create_ad_user=create_ad_user, base=base, dry_run=dry_run
        )
        return _checked(out, check)

    def resume(
        self,
        operation_id: str,
        *,
        wait: bool | None = None,
        timeout: float | None = None,
        check: bool = True,
        sign_in_password: Secret | None = None,
    ) -> MailboxResult:
        """Finish an interrupted operation to the same end state: re-plan from the facts and the journal."""
        op = self.journal.get(operation_id)
        if op is None:
            raise BadInput(
                f"no operation {operation_id!r} in the journal ({self.journal.path})",
                hint="`pswrap ops list` shows the operations on this machine; on another machine, run the "
                "same command again (it converges without the journal)",
            )
        if op.kind not in (KIND_CREATE, KIND_LINK):
            raise BadInput(f"operation {operation_id} is a {op.kind}, which cannot be resumed")
        req = MailboxRequest.from_json(op.args)
        # Resuming means finishing: it waits for sync unless told not to, even for a --no-wait run.
        changes: dict[str, Any] = {"wait": True if wait is None else wait}
        if timeout is not None:
            changes["timeout"] = timeout
        req = req.with_(**changes)
        if op.target is not None and self.target_name is None:
            self.target_name = op.target
        # The same run as the command that started it, under the same operation id: re-plan from the
        # facts (what exists now) and the journal (the anchor GUID chosen once), apply what is missing.
        out = self._workflow(req.profile, sign_in_password).create(req, op_id=op.id)
        assert isinstance(out, MailboxResult)
        result: MailboxResult = _checked(out, check)
        return result

    # --- desired state (pswrap.desired: mailbox apply, show, list) -------------------------------

    def apply_mailbox(
        self,
        spec: Any,
        *,
        dry_run: bool = False,
        wait: bool = True,
        sync_timeout: float = 600.0,
        profile: str | None = None,
        hold: str | None = None,
        check: bool = True,
    ) -> Any:
        """Converge one mailbox to `spec` (a `pswrap.desired.spec.MailboxSpec` or a mapping of its fields).

        Returns a `pswrap.desired.apply.ApplyResult` (`.result` is the `MailboxResult`); `dry_run` is check
        mode: nothing changes and `changed` says whether something would.
        """
        from pswrap.desired.apply import ApplyOptions, converge
        from pswrap.desired.load import validate
        from pswrap.desired.spec import MailboxSpec

        if not isinstance(spec, MailboxSpec):
            spec = validate(spec, "spec")
        chosen = profile or self._default_profile()
        if chosen != "modern":
            raise BadInput(
                f"mailbox apply needs the modern profile, not {chosen}",
                hint="calendar processing is read and written in Exchange Online (--profile modern)",
            )
        options = ApplyOptions(
            dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, profile=chosen, hold=hold
        )
        out = converge(
            _LazySession(self, chosen),
            spec,
            options,
            journal=self.journal,
            target_name=self._target_facts().name,
            workflow=lambda: self._workflow(chosen),
            progress=self.progress,
        )
        if check:
            out.result.raise_for_error()
        return out

    def show_mailbox(self, alias: str) -> dict[str, Any]:
        """`{spec, link}`: the mailbox in the spec's shape, and its link as read."""
        from pswrap.desired.show import show

        return show(_LazySession(self, "modern"), alias)

    def list_mailboxes(
        self, *, type: str | None = None, unlinked: bool = False, drift: bool = False
    ) -> list[dict[str, Any]]:
        """The tenant's room, equipment and shared mailboxes, read in bulk, with their link state; `drift`
        adds what does not line up between Exchange Online, Entra ID and AD (and keeps only those)."""
        from pswrap.desired.listing import domain_of, list_mailboxes

        base = domain_of(self._target_facts().resource_ou)
        return list_mailboxes(
            _LazySession(self, "modern"), kind=type, unlinked=unlinked, drift=drift, search_base=base
        )

    # --- sync -----------------------------------------------------------------------------------

    def _sync_session(self) -> Any:
        profile = self._default_profile()
        return self._session("modern" if profile == "legacy" else profile)

    def sync_status(self) -> dict[str, Any]:
        s = self._sync_session()
        settings = s.step("sync/get-settings")
        scheduler = s.step("sync/get-scheduler")
        out: dict[str, Any] = {
            "settings": settings.model_dump(mode="json"),
            "scheduler": scheduler.model_dump(mode="json"),
        }
        try:
            leases = s.step("sync/list-leases")
            out["leases"] = leases.model_dump(mode="json")
        except PswrapError:  # the status is still worth printing; the leases are shown as unknown
            out["leases"] = None
        return out

    def start_sync(self, *, initial: bool = False) -> dict[str, Any]:
        s = self._sync_session()
        try:
            started = s.step("sync/start-cycle", choices={"policy": "initial" if initial else "delta"})
        except SyncBusy as exc:
            exc.hint = "a cycle is running; `pswrap sync wait` waits for it to end"
            raise
        return {"policy": "initial" if initial else "delta", "result": started.result}

    def wait_sync(self, *, timeout: float = 600.0) -> dict[str, Any]:
        from pswrap.workflows.inputs import check_seconds
        from pswrap.workflows.sync_wait import Deadline, wait_until_idle

        check_seconds(timeout, "--timeout")
        s = self._sync_session()
        state = wait_until_idle(s, Deadline(timeout), self.progress)
        return {"scheduler": state.model_dump(mode="json")}

    # --- the journal ----------------------------------------------------------------------------

    def operations(self, limit: int = 50) -> list[Operation]:
        return self.journal.recent(limit)

    def operation(self, operation_id: str) -> tuple[Operation, list[StepRecord]]:
        op = self.journal.get(operation_id)
        if op is None:
            raise BadInput(
                f"no operation {operation_id!r} in the journal ({self.journal.path})",
                hint="`pswrap ops list` shows the operations on this machine",
            )
        return op, self.journal.steps(op.id)


def _checked(out: Any, check: bool) -> Any:
    if check and isinstance(out, MailboxResult):
        out.raise_for_error()
    return out


def connect(target: str | None = None, **kwargs: Any) -> Pswrap:
    """A `Pswrap` for `target` (a configured name, `lab`, or None for the default / embedded lab)."""
    return Pswrap(target, **kwargs)
