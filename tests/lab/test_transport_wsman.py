"""The lab's WS-Management envelopes and HTTP connections, as seen on the wire by a client.

A user relies on: replies (faults included) naming the request they answer, connections kept alive
across requests and across a fault, every Receive reply fitting the client's MaxEnvelopeSize, the fault a
Windows server gives for an unknown shell, and one failing request never taking the server down.
"""

from __future__ import annotations

import base64
import http.client
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from pswrap.lab import server as lab_server
from pswrap.lab.embedded import RunningLab
from tests.lab.conftest import LabFactory, wsman_for

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}


@dataclass
class Exchange:
    request: bytes
    reply: bytes
    fault: bool

    @property
    def action(self) -> str:
        return ET.fromstring(self.request).findtext("s:Header/a:Action", "", NS).rsplit("/", 1)[-1]

    def header(self, which: str, name: str) -> str:
        doc = ET.fromstring(self.request if which == "request" else self.reply)
        return doc.findtext(f"s:Header/a:{name}", "", NS)


def record(wsman: Any) -> list[Exchange]:
    """Every plaintext request and reply (decrypted for NTLM) the unmodified pypsrp client exchanges."""
    seen: list[Exchange] = []
    original = wsman.transport.send

    def send(message: bytes, **kwargs: Any) -> bytes:
        try:
            reply: bytes = original(message, **kwargs)
        except WinRMTransportError as err:
            seen.append(Exchange(message, err.response_text.encode(), True))
            raise
        seen.append(Exchange(message, reply, False))
        return reply

    wsman.transport.send = send
    return seen


def invoke(pool: RunspacePool, script: str = "# pswrap-step: lab/echo\n", **params: object) -> list[Any]:
    ps = PowerShell(pool)
    ps.add_script(script)
    if params:
        ps.add_parameters(params)
    return list(ps.invoke())


def test_every_reply_and_fault_relates_to_its_request(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="ntlm")
    with wsman_for(lab.endpoint, operation_timeout=1) as wsman:
        seen = record(wsman)
        pool = RunspacePool(wsman)
        pool.open()
        assert json.loads(invoke(pool, Call="ok")[0])["params"] == {"Call": "ok"}
        # a Receive long poll that times out: answered with the timeout fault, then polled again
        assert json.loads(invoke(pool, "# pswrap-step: lab/sleep\n", Seconds=1.5)[0]) == {"completed": True}
        with PowerShell(pool) as ps:  # closing it sends the Terminate signal
            ps.add_script("# pswrap-step: lab/echo\n").add_parameters({"Closed": "after"})
            assert json.loads(ps.invoke()[0])["params"] == {"Closed": "after"}
        assert pool.is_alive()
        pool.close()
        assert pool.is_alive() is False  # the shell-not-found fault
    actions = {e.action for e in seen}
    assert {"Create", "Receive", "Command", "Get", "Signal", "Delete"} <= actions
    faults = [e for e in seen if e.fault]
    assert {f.action for f in faults} == {"Receive", "Get"}
    for fault in faults:  # WinRM's OperationTimeout fault for the long poll, unknown shell for Get
        code = "2150858793" if fault.action == "Receive" else "2150858843"
        assert f'Code="{code}"'.encode() in fault.reply
    for exchange in seen:
        assert exchange.header("reply", "RelatesTo") == exchange.header("request", "MessageID")


def test_unknown_shell_gets_the_fault_a_windows_server_sends(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["kill-pool:Command@1"])
    with wsman_for(lab.endpoint) as wsman:
        seen = record(wsman)
        pool = RunspacePool(wsman)
        pool.open()
        with pytest.raises(WSManFaultError) as info:
            invoke(pool)
    shell_id = pool.shell.id.upper()
    assert info.value.code == 2150858843
    assert info.value.reason == (
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation."
    )
    [fault] = [e for e in seen if e.fault]
    doc = ET.fromstring(fault.reply)
    body = doc.find("s:Body/s:Fault", NS)
    assert body is not None
    assert body.findtext("s:Code/s:Value", "", NS) == "s:Sender"
    assert body.findtext("s:Code/s:Subcode/s:Value", "", NS) == "w:InvalidSelectors"
    assert body.findtext("s:Reason/s:Text", "", NS).startswith(
        "The WS-Management service cannot process the request because the request contained invalid selectors"
    )
    assert body.findtext("s:Detail/w:FaultDetail", "", NS).endswith("/faultDetail/UnexpectedSelectors")


def test_every_receive_reply_fits_the_clients_max_envelope_size(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="ntlm")
    limit = 16384
    with wsman_for(lab.endpoint, max_envelope_size=limit) as wsman:
        seen = record(wsman)
        with RunspacePool(wsman) as pool:
            output = invoke(pool, "# pswrap-step: lab/emit\n", Count=12, Size=10000)
    assert json.loads(output[0]) == {"items": ["x" * 10000] * 12}
    receives = [e for e in seen if e.action == "Receive"]
    assert len(receives) >= 10  # ~120 KB of output cannot come in fewer 16 KB envelopes
    assert max(len(e.reply) for e in receives) <= limit


@pytest.fixture
def basic_connection(
    start_lab_factory: LabFactory,
) -> Iterator[tuple[RunningLab, http.client.HTTPConnection]]:
    lab = start_lab_factory(auth="basic")
    conn = http.client.HTTPConnection(lab.endpoint.host, lab.endpoint.port, timeout=10)
    yield lab, conn
    conn.close()


def _post(lab: RunningLab, conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes, Any]:
    token = base64.b64encode(f"{lab.endpoint.username}:{lab.endpoint.password}".encode()).decode()
    conn.request("POST", "/wsman", body=body, headers={
        "Authorization": f"Basic {token}", "Content-Type": "application/soap+xml;charset=UTF-8",
    })
    reply = conn.getresponse()
    data = reply.read()
    assert reply.getheader("Content-Length") == str(len(data))
    assert not reply.will_close  # HTTP/1.1 keep-alive, a fault included
    assert conn.sock is not None
    return reply.status, data, conn.sock.getsockname()


def test_one_connection_serves_requests_before_and_after_a_fault(
    basic_connection: tuple[RunningLab, http.client.HTTPConnection],
) -> None:
    lab, conn = basic_connection
    status, _, first_socket = _post(lab, conn, b"")
    assert status == 200
    status, data, socket_after_fault = _post(lab, conn, b"<not-wsman/>")
    assert status == 500 and b'Code="2150858817"' in data
    status, _, last_socket = _post(lab, conn, b"")
    assert status == 200
    assert first_socket == socket_after_fault == last_socket


def test_a_request_the_lab_fails_on_is_a_fault_and_the_server_goes_on(
    lab: RunningLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, request: Any, pool: Any) -> bytes:
        raise KeyError("a bug in the lab")

    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        monkeypatch.setattr(lab_server.LabServer, "_command", broken)
        with pytest.raises(WSManFaultError) as info:
            invoke(pool)
        assert info.value.code == 2147500037
        assert "Command" in str(info.value.reason)
        monkeypatch.undo()
        # the same pool, on the same connection, goes on
        assert json.loads(invoke(pool, After="bug")[0])["params"] == {"After": "bug"}


def test_a_request_without_a_usable_content_length_is_a_bad_request(
    basic_connection: tuple[RunningLab, http.client.HTTPConnection],
) -> None:
    lab, conn = basic_connection
    conn.putrequest("POST", "/wsman")
    conn.putheader("Content-Length", "lots")
    conn.endheaders()
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 400 and reply.will_close
    conn.close()
    status, _, _ = _post(lab, conn, b"")  # a new connection is served as usual
    assert status == 200
