"""A minimal trusted Jupyter client over ZMQ ipc sockets, with a message size cap.

jupyter_client's own clients keep every message; here each socket refuses messages above `max_msg`
bytes (ZMQ_MAXMSGSIZE), so a 100 MB print cannot grow the runner's memory.
"""
from __future__ import annotations

import json
from collections.abc import Container

import zmq
from jupyter_client.session import Session

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
_STUB = {"header": {"msg_type": "__bad__"}, "parent_header": {}, "content": {}}
RCVHWM = 32  # messages queued per socket while the runner is busy (each at most max_msg bytes per frame)


def connection_info(ip: str, key: str) -> dict:
    """Connection file contents for ipc transport; sockets are `<ip>-<port>`."""
    info = {f"{name}_port": i + 1 for i, name in enumerate(CHANNELS)}
    info.update(ip=ip, key=key, transport="ipc", signature_scheme="hmac-sha256", kernel_name="")
    return info


class KernelClient:
    def __init__(self, ctx: zmq.Context, ip: str, key: str, max_msg: int) -> None:
        self.session = Session(key=key.encode(), signature_scheme="hmac-sha256", username="grader")
        self.ctx, self.ip, self.max_msg = ctx, ip, max_msg
        self.sockets: dict[str, zmq.Socket] = {}
        for name, kind in (("shell", zmq.DEALER), ("iopub", zmq.SUB), ("control", zmq.DEALER)):
            self.sockets[name] = self._socket(name, kind)
        self.shell = self.sockets["shell"]
        self.iopub = self.sockets["iopub"]
        self.control = self.sockets["control"]
        # Disconnects of iopub mean lost messages (an oversize one, and whatever came until reconnection).
        self.monitor = self.iopub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self.disconnects = 0

    def _socket(self, name: str, kind: int) -> zmq.Socket:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        # The kernel binds its sockets ~50 ms after fork; libzmq retries a refused ipc connect only every
        # RECONNECT_IVL (default 100 ms), which would dominate the start-up time.
        sock.setsockopt(zmq.RECONNECT_IVL, 5)
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_msg)  # an oversize message disconnects the peer
        sock.setsockopt(zmq.RCVHWM, RCVHWM)
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(f"ipc://{self.ip}-{CHANNELS.index(name) + 1}")
        return sock

    def reconnect_iopub(self) -> None:
        """A fresh iopub socket: after an oversize message libzmq does not bring the old one back."""
        self.iopub.disable_monitor()
        self.monitor.close(linger=0)
        self.iopub.close(linger=0)
        self.iopub = self.sockets["iopub"] = self._socket("iopub", zmq.SUB)
        self.monitor = self.iopub.get_monitor_socket(zmq.EVENT_DISCONNECTED)

    def drain_monitor(self) -> int:
        """Count iopub disconnects seen since the last call."""
        n = 0
        while True:
            try:
                self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            n += 1
        self.disconnects += n
        return n

    def send(self, sock: zmq.Socket, msg_type: str, content: dict) -> str:
        msg = self.session.msg(msg_type, content)
        self.session.send(sock, msg)
        return msg["header"]["msg_id"]

    def execute(self, code: str, silent: bool = False) -> str:
        return self.send(self.shell, "execute_request", {
            "code": code, "silent": silent, "store_history": not silent,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": False,
        })

    def recv(self, sock: zmq.Socket, parents: Container[str] | None = None) -> dict | None:
        """One message, or None when nothing is waiting.

        Malformed messages, and those whose parent is not in `parents`, come back as a stub without
        content: the (possibly large) content is then never decoded.
        """
        try:
            frames = sock.recv_multipart(zmq.NOBLOCK, copy=True)
        except zmq.Again:
            return None
        try:
            _, frames = self.session.feed_identities(frames, copy=True)
            if parents is not None:
                parent = json.loads(frames[2]) if len(frames) > 2 else {}
                if not isinstance(parent, dict) or parent.get("msg_id") not in parents:
                    return dict(_STUB, header={"msg_type": "__other__"})
            msg = self.session.deserialize(frames, content=True, copy=True)
        except Exception:  # noqa: BLE001 - the kernel is untrusted: a bad message is just dropped
            return dict(_STUB)
        if not isinstance(msg.get("parent_header"), dict) or not isinstance(msg.get("content"), dict):
            return dict(_STUB)
        return msg

    def close(self) -> None:
        self.iopub.disable_monitor()
        self.monitor.close(linger=0)
        for sock in self.sockets.values():
            sock.close(linger=0)
