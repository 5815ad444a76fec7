"""WS-Management envelopes for the lab: what a WinRM server reads from a request and writes back.

Only the parts of [MS-WSMV] a PSRP client uses are modelled (Create/Delete/Get on the shell, Command,
Send, Receive, Signal). Replies mirror what Windows sends, as observed with pypsrp (see
docs/sources.md, WS-Management notes): `RelatesTo` echoes the request's MessageID, Create returns the
ShellId in
`ResourceCreated/ReferenceParameters/SelectorSet`, faults carry a `wsmanfault:WSManFault` with the
Windows error code.
"""

from __future__ import annotations

import random
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmv": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "ps": "http://schemas.microsoft.com/powershell",
}

_random = random.Random()  # message ids need uniqueness, not secrecy (os.urandom per reply is slower)

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"

ACTIONS: dict[str, str] = {
    TRANSFER + "Create": "Create",
    TRANSFER + "Delete": "Delete",
    TRANSFER + "Get": "Get",
    TRANSFER + "Put": "Put",
    SHELL + "Command": "Command",
    SHELL + "Send": "Send",
    SHELL + "Receive": "Receive",
    SHELL + "Signal": "Signal",
    SHELL + "Disconnect": "Disconnect",
    SHELL + "Reconnect": "Reconnect",
    SHELL + "Connect": "Connect",
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate": "Enumerate",
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull": "Pull",
}

SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"
SIGNAL_TERMINATE = SHELL + "signal/Terminate"
COMMAND_STATE_DONE = SHELL + "CommandState/Done"
COMMAND_STATE_RUNNING = SHELL + "CommandState/Running"

# Windows error codes a client acts on (pypsrp compares them numerically).
ERROR_OPERATION_TIMEDOUT = 2150858793  # 0x80338029: Receive long poll ended with nothing to send
ERROR_SHELL_NOT_FOUND = 2150858843  # 0x8033805B: "the shell was not found on the server"
ERROR_ACTION_NOT_SUPPORTED = 2150858771  # 0x80338013
ERROR_INTERNAL = 2147500037  # 0x80004005 E_FAIL
ERROR_INVALID_BODY = 2150858817  # 0x80338041: the request body is not a valid WS-Management message
ERROR_ACCESS_DENIED = 2147942405  # 0x80070005 E_ACCESSDENIED (WinRM also reports it as Code 5)
ERROR_QUOTA_MAX_SHELLS = 2150859173  # 0x803381A5 ERROR_WSMAN_QUOTA_MAX_SHELLS (wsmerror.h)


class WSManFault(Exception):
    """A SOAP fault to send back; `status` is the HTTP status Windows uses for it (500 for every fault)."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: str = "w:InternalError",
        value: str = "s:Receiver",
        detail: str = "",
        status: int = 500,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The SOAP `s:Reason` text: Windows often puts a generic text there and the specific one in
        # `f:Message` (which pypsrp reports as the fault's reason).
        self.reason = reason or message
        self.subcode = subcode
        self.value = value
        self.detail = detail
        self.status = status
        self.relates_to = ""


def timeout_fault() -> WSManFault:
    """WinRM's answer when a Receive had nothing to deliver within OperationTimeout ([MS-WSMV] 3.1.4.14)."""
    return WSManFault(
        ERROR_OPERATION_TIMEDOUT,
        "The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout.",
        subcode="w:TimedOut",
        detail="",
    )


def shell_not_found_fault(shell_id: str) -> WSManFault:
    """Windows' fault for a request naming a shell it does not have (pypsrp's is_alive() reads it as gone).

    As Windows sends it (seen in pypsrp's and other WinRM clients' recorded responses): s:Sender,
    w:InvalidSelectors, the generic invalid-selectors Reason, FaultDetail UnexpectedSelectors, and the
    shell-not-found text in the WSManFault message.
    """
    return WSManFault(
        ERROR_SHELL_NOT_FOUND,
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
        subcode="w:InvalidSelectors",
        value="s:Sender",
        detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
        reason="The WS-Management service cannot process the request because the request contained invalid "
        "selectors for the resource. ",
    )


def internal_error_fault(action: str) -> WSManFault:
    """What the lab answers when serving a request failed unexpectedly: a fault for this request only."""
    return WSManFault(
        ERROR_INTERNAL,
        f"The lab failed to process the {action} request (an error in the lab itself, logged by "
        "`pswrap lab serve`). Other requests and shells are not affected; retry, or report the log.",
        subcode="w:InternalError",
    )


def invalid_body_fault(reason: str) -> WSManFault:
    return WSManFault(
        ERROR_INVALID_BODY,
        f"The WS-Management service cannot process the request because the XML is invalid: {reason}",
        subcode="w:SchemaValidationError",
        value="s:Sender",
    )


def action_not_supported_fault(action: str) -> WSManFault:
    return WSManFault(
        ERROR_ACTION_NOT_SUPPORTED,
        f"The WS-Management service cannot process the request. The action {action} is not supported "
        "by the lab.",
        subcode="wsa:ActionNotSupported",
        value="s:Sender",
    )


@dataclass
class Request:
    action: str
    short_action: str
    message_id: str
    resource_uri: str
    selectors: dict[str, str]
    options: dict[str, str]
    max_envelope_size: int
    operation_timeout: float
    body: ET.Element
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def shell_id(self) -> str | None:
        value = self.selectors.get("ShellId")
        return value.upper() if value else None


_DURATION = re.compile(r"^PT(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str | None, default: float) -> float:
    if not text:
        return default
    match = _DURATION.match(text.strip())
    if not match:
        return default
    return int(match.group("m") or 0) * 60 + float(match.group("s") or 0)


def parse_request(data: bytes) -> Request:
    """Read a WSMan request; raises WSManFault (invalid body) for anything that is not a WSMan envelope."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise invalid_body_fault(str(exc)) from None
    if root.tag != f"{{{NS['s']}}}Envelope":
        raise invalid_body_fault("the document is not a SOAP envelope")
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise invalid_body_fault("the envelope has no Header or Body")
    action = (header.findtext("wsa:Action", "", NS) or "").strip()
    message_id = (header.findtext("wsa:MessageID", "", NS) or "").strip()
    if not action or not message_id:
        raise invalid_body_fault("the header has no Action or MessageID")
    selectors = {
        sel.get("Name", ""): (sel.text or "").strip()
        for sel in header.findall("wsman:SelectorSet/wsman:Selector", NS)
    }
    options = {
        opt.get("Name", ""): (opt.text or "").strip()
        for opt in header.findall("wsman:OptionSet/wsman:Option", NS)
    }
    try:
        max_env = int(header.findtext("wsman:MaxEnvelopeSize", "153600", NS) or 153600)
    except ValueError:
        max_env = 153600
    return Request(
        action=action,
        short_action=ACTIONS.get(action, action.rsplit("/", 1)[-1] or "Unknown"),
        message_id=message_id,
        resource_uri=(header.findtext("wsman:ResourceURI", "", NS) or "").strip(),
        selectors=selectors,
        options=options,
        max_envelope_size=max(8192, max_env),
        operation_timeout=parse_duration(header.findtext("wsman:OperationTimeout", None, NS), 20.0),
        body=body,
    )


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["wsa"]}" xmlns:w="{NS["wsman"]}" '
        f'xmlns:x="{NS["wst"]}" xmlns:rsp="{NS["rsp"]}" xml:lang="en-US">'
        "<s:Header>"
        f"<a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.UUID(int=_random.getrandbits(128), version=4)).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        "</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def reply(request: Request, body: str = "") -> bytes:
    return _envelope(request.action + "Response", request.message_id, body)


def fault_envelope(fault: WSManFault, relates_to: str = "", machine: str = "localhost") -> bytes:
    detail = f"<w:FaultDetail>{escape(fault.detail)}</w:FaultDetail>" if fault.detail else ""
    body = (
        "<s:Fault>"
        f"<s:Code><s:Value>{fault.value}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}"
        f'<f:WSManFault xmlns:f="{NS["wsmanfault"]}" Code="{fault.code}" Machine="{escape(machine)}">'
        f"<f:Message>{escape(fault.message)}</f:Message></f:WSManFault>"
        "</s:Detail></s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def create_reply(request: Request, shell_id: str, address: str) -> bytes:
    body = (
        "<x:ResourceCreated>"
        f"<a:Address>{escape(address)}</a:Address>"
        "<a:ReferenceParameters>"
        f"<w:ResourceURI>{escape(request.resource_uri)}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters>"
        "</x:ResourceCreated>" + shell_element(shell_id, request.resource_uri)
    )
    return reply(request, body)


def shell_element(shell_id: str, resource_uri: str, state: str = "Connected") -> str:
    return (
        f'<rsp:Shell xmlns:rsp="{NS["rsp"]}">'
        f"<rsp:ShellId>{shell_id}</rsp:ShellId>"
        f"<rsp:ResourceUri>{escape(resource_uri)}</rsp:ResourceUri>"
        "<rsp:Owner>lab</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>"
        "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
        "<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>"
        f"<rsp:State>{state}</rsp:State>"
        "</rsp:Shell>"
    )


def command_reply(request: Request, command_id: str) -> bytes:
    return reply(
        request, f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    )


def receive_reply(request: Request, chunks: list[str], command_id: str | None, done: bool) -> bytes:
    """`chunks` are base64 texts of PSRP fragment runs, one `rsp:Stream` each, as Windows sends them."""
    cid = f' CommandId="{command_id}"' if command_id else ""
    streams = "".join(f'<rsp:Stream Name="stdout"{cid}>{chunk}</rsp:Stream>' for chunk in chunks)
    state = ""
    if command_id:
        state_uri = COMMAND_STATE_DONE if done else COMMAND_STATE_RUNNING
        state = f'<rsp:CommandState CommandId="{command_id}" State="{state_uri}"/>'
    return reply(request, f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>")


def receive_capacity(max_envelope_size: int) -> int:
    """Raw PSRP bytes that fit one Receive reply: the envelope minus headroom, shrunk by base64's 4/3."""
    return max(1024, (max_envelope_size - 4096) * 3 // 4)
