"""A minimal trusted Jupyter client over ZMQ ipc sockets, behind a message guard.

jupyter_client's own clients keep every message; here the guard process (guard.py) forwards only
messages up to `max_msg` bytes, so neither a 100 MB print nor a 500 MB multipart message can grow the
runner's memory.
"""
from __future__ import annotations

import json
from collections.abc import Container

import zmq
from jupyter_client.session import Session

from autograder.sandbox.guard import DROPPED

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
CHANNEL_PORTS = (1, 2, 4)  # shell, iopub, control: what the guard forwards
_STUB = {"header": {"msg_type": "__bad__"}, "parent_header": {}, "content": {}}
RCVHWM = 32  # messages queued per socket while the runner is busy (each at most max_msg bytes per frame)


def connection_info(ip: str, key: str) -> dict:
    """Connection file contents for ipc transport; sockets are `<ip>-<port>`."""
    info: dict[str, int | str] = {f"{name}_port": i + 1 for i, name in enumerate(CHANNELS)}
    info.update(ip=ip, key=key, transport="ipc", signature_scheme="hmac-sha256", kernel_name="")
    return info


class KernelClient:
    """Talks to the kernel through its guard process (guard.py): one PAIR socket per channel."""

    def __init__(self, ctx: zmq.Context, ip: str, key: str, max_msg: int) -> None:
        self.session = Session(key=key.encode(), signature_scheme="hmac-sha256", username="grader")
        self.sockets: dict[str, zmq.Socket] = {}
        for name in ("shell", "iopub", "control"):
            sock = ctx.socket(zmq.PAIR)
            sock.setsockopt(zmq.LINGER, 0)
            # The guard binds ~50 ms after it starts; libzmq retries a refused ipc connect only every
            # RECONNECT_IVL (default 100 ms), which would dominate the start-up time.
            sock.setsockopt(zmq.RECONNECT_IVL, 5)
            sock.setsockopt(zmq.MAXMSGSIZE, max_msg)  # the guard forwards nothing bigger anyway
            sock.setsockopt(zmq.RCVHWM, RCVHWM)
            sock.connect(f"ipc://{ip}-{CHANNELS.index(name) + 1}")
            self.sockets[name] = sock
        self.shell = self.sockets["shell"]
        self.iopub = self.sockets["iopub"]
        self.control = self.sockets["control"]

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
        if frames == [DROPPED]:
            return dict(_STUB, header={"msg_type": "__dropped__"})
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
        for sock in self.sockets.values():
            sock.close(linger=0)
