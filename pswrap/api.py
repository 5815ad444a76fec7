"""The public Python API: a session per target with the mailbox operations. The CLI is a thin layer on it.

    import pswrap.api

    with pswrap.api.connect("lab") as ps:
        result = ps.create_mailbox("Meeting Room 1", alias="room1", type="room")
        print(result.status, result.immutable_id)

A call returns a `MailboxResult` (`.to_json()` gives the documented JSON) and, by default, raises the
`pswrap.errors.PswrapError` that ended a failed or timed-out operation (`check=False` returns the result
with `.error` set instead, which is what the CLI uses to print JSON and exit with the error's code).
Connections open on first use, per profile, and close when the `with` block ends.

Every public method returns a typed value (`MailboxResult`, `DryRun`, `SyncStatus`, `SyncStarted`,
`SyncWaited`, `Operation`, `OperationDetail`, `Checklist`), and the closed sets of values (`type`,
`profile`, `hold`, `match`) are `Literal` types, so `mypy --strict` checks a runbook written on this API.
docs/api.md is the user's page; its examples run as tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from pswrap.api_lifecycle import LIFECYCLE_KINDS, Lifecycle
from pswrap.api_models import (
    Checklist,
    ListedMailbox,
    OperationDetail,
    ShownMailbox,
    SyncStarted,
    SyncStatus,
    SyncWaited,
)
from pswrap.api_server import ServerOperations
from pswrap.choices import (
    DoctorHold,
    DoctorProfile,
    ExchangeAttributes,
    Hold,
    MailboxType,
    Match,
    Profile,
)
from pswrap.errors import BadInput
from pswrap.journal import Journal, Operation
from pswrap.render.script import Script
from pswrap.secrets import Secret
from pswrap.workflows.inputs import MailboxRequest, TargetFacts
from pswrap.workflows.mailbox import KIND_CREATE, KIND_LINK, MailboxWorkflow
from pswrap.workflows.mailbox_dryrun import DryRun
from pswrap.workflows.ports import Progress, no_progress
from pswrap.workflows.results import MailboxResult

if TYPE_CHECKING:
    from pswrap.remote.target import Target

__all__ = [
    "Checklist",
    "DoctorHold",
    "DoctorProfile",
    "DryRun",
    "ExchangeAttributes",
    "Hold",
    "ListedMailbox",
    "MailboxResult",
    "MailboxType",
    "Match",
    "Operation",
    "OperationDetail",
    "Profile",
    "Pswrap",
    "ShownMailbox",
    "SyncStarted",
    "SyncStatus",
    "SyncWaited",
    "connect",
]


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

    def open_shells(self, needs: tuple[str, ...]) -> None:
        """A batch claims its shells up front (pswrap.desired.batch.Batch.claim); a session that cannot
        (a test's fake) opens them on first use."""
        opener = getattr(self._real(), "open_shells", None)
        if opener is not None:
            opener(needs)


class Pswrap(Lifecycle, ServerOperations):
    """The mailbox operations on one target. Use as a context manager (connections close at the end)."""

    def __init__(
        self,
        target: str | Target | None = None,
        *,
        journal: Journal | None = None,
        progress: Progress = no_progress,
        confirm: Callable[[DryRun], bool] | None = None,
        session_factory: Callable[[str | None, str], Any] | None = None,
    ) -> None:
        # A `Target` the caller built (remote.target.target_from) is used as given; a name is loaded.
        self._given: Target | None = None if target is None or isinstance(target, str) else target
        self.target_name = target if isinstance(target, str) else target.name if target else None
        self.journal = journal if journal is not None else Journal()
        self.progress = progress
        self.confirm = confirm
        self._factory = session_factory
        self._stack = ExitStack()
        self._sessions: dict[str, Any] = {}
        self._target: Any | None = self._given

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

                session = open_session(self._given or self.target_name, profile=profile)  # type: ignore[arg-type]
            self._stack.enter_context(session)
            self._sessions[profile] = session
            if self._target is None:
                self._target = getattr(session, "target", None)
        return self._sessions[profile]

    def target(self) -> Target:
        """The target's settings (loaded without connecting when no session is open yet)."""
        if self._target is None:
            from pswrap.remote.target import load_target

            self._target = load_target(self.target_name)
        target: Target = self._target
        return target

    def _target_facts(self) -> TargetFacts:
        return TargetFacts.of(self.target())

    def _default_profile(self) -> Profile:
        profile: Profile = self.target().profile or "modern"
        return profile

    def _lazy(self, profile: str) -> _LazySession:
        return _LazySession(self, profile)

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

    @overload
    def create_mailbox(
        self,
        name: str,
        *,
        alias: str,
        type: MailboxType = "room",
        sam: str | None = None,
        upn: str | None = None,
        email: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        capacity: int | None = None,
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: Literal[False] = False,
        check: bool = True,
    ) -> MailboxResult: ...

    @overload
    def create_mailbox(
        self,
        name: str,
        *,
        alias: str,
        type: MailboxType = "room",
        sam: str | None = None,
        upn: str | None = None,
        email: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        capacity: int | None = None,
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: Literal[True],
        check: bool = True,
    ) -> DryRun: ...

    @overload
    def create_mailbox(
        self,
        name: str,
        *,
        alias: str,
        type: MailboxType = "room",
        sam: str | None = None,
        upn: str | None = None,
        email: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        capacity: int | None = None,
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: bool,
        check: bool = True,
    ) -> MailboxResult | DryRun: ...

    def create_mailbox(
        self,
        name: str,
        *,
        alias: str,
        type: MailboxType = "room",
        sam: str | None = None,
        upn: str | None = None,
        email: str | None = None,
        ou: str | None = None,
        display_name: str | None = None,
        capacity: int | None = None,
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: bool = False,
        check: bool = True,
    ) -> MailboxResult | DryRun:
        """Create (or converge) a room, equipment or shared mailbox managed from on-prem AD.

        Returns a `MailboxResult`, or a `DryRun` (the plan and its scripts) when `dry_run`. `timeout`
        is how long to wait for sync to link the account (the CLI's `--sync-timeout`).
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

    @overload
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
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        add_addresses: bool = False,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: Literal[False] = False,
        check: bool = True,
    ) -> MailboxResult: ...

    @overload
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
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        add_addresses: bool = False,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: Literal[True],
        check: bool = True,
    ) -> DryRun: ...

    @overload
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
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        add_addresses: bool = False,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: bool,
        check: bool = True,
    ) -> MailboxResult | DryRun: ...

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
        profile: Profile | None = None,
        hold: Hold | None = None,
        match: Match | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        add_addresses: bool = False,
        exchange_attributes: ExchangeAttributes | None = None,
        allow_sign_in: bool = False,
        sign_in_password: Secret | None = None,
        dry_run: bool = False,
        check: bool = True,
    ) -> MailboxResult | DryRun:
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
        """Finish an interrupted operation to the same end state: re-plan from the facts and the journal. A
        removal, restore or unlink resumes as its own command (`resume_lifecycle` returns its whole
        LifecycleResult; here, its shared-contract result)."""
        op = self.journal.get(operation_id)
        if op is None:
            raise BadInput(
                f"no operation {operation_id!r} in the journal ({self.journal.path})",
                hint="`pswrap ops list` shows the operations on this machine; on another machine, run the "
                "same command again (it converges without the journal)",
            )
        if op.kind in LIFECYCLE_KINDS:
            if op.target is not None and self.target_name is None:
                self.target_name = op.target
            return self._resume_lifecycle(op, timeout, check).result
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
        return _checked(out, check)


_Out = TypeVar("_Out", bound="MailboxResult | DryRun")


def _checked(out: _Out, check: bool) -> _Out:
    if check and isinstance(out, MailboxResult):
        out.raise_for_error()
    return out


def connect(
    target: str | Target | None = None,
    *,
    journal: Journal | None = None,
    progress: Progress = no_progress,
    confirm: Callable[[DryRun], bool] | None = None,
) -> Pswrap:
    """A `Pswrap` for `target`: a configured name, `lab`, None (default / embedded lab), or a `Target`."""
    return Pswrap(target, journal=journal, progress=progress, confirm=confirm)
