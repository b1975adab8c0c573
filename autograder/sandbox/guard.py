"""Message guard between an untrusted kernel and the trusted runner (one small process per kernel).

libzmq's ZMQ_MAXMSGSIZE caps each *frame*, not a whole multipart message: a kernel can send one
message of 60 frames x 8 MiB (the same buffer repeated, so it costs the kernel nothing) and the receiver
holds all of it before the first frame is readable. This process receives in the runner's stead under an
address-space limit, forwards only messages up to the cap and drops the rest with a marker frame; if a
message breaks its memory limit it dies, and the runner treats that like an output bomb.

Standalone script (stdlib + pyzmq), one per slot, reused from kernel to kernel: argv = MAX_MSG MEM_LIMIT.
Channels: shell and control (DEALER to the kernel), iopub (SUB); towards the runner one PAIR each.
"""
from __future__ import annotations

import resource
import sys

DROPPED = b"\x00course-guard-dropped"
CHANNELS = {"shell": 1, "iopub": 2, "control": 4}


class Link:
    """The sockets between one kernel and the runner."""

    def __init__(self, ctx, kernel_ip: str, runner_ip: str, max_msg: int) -> None:
        import zmq

        self.zmq, self.ctx, self.kernel_ip, self.max_msg = zmq, ctx, kernel_ip, max_msg
        self.kernel = {name: self._kernel_socket(name) for name in CHANNELS}
        self.monitors = {name: s.get_monitor_socket(zmq.EVENT_DISCONNECTED) for name, s in self.kernel.items()}
        self.runner = {}
        for name, port in CHANNELS.items():
            sock = ctx.socket(zmq.PAIR)
            sock.setsockopt(zmq.LINGER, 0)
            sock.bind(f"ipc://{runner_ip}-{port}")
            self.runner[name] = sock

    def _kernel_socket(self, name: str):
        zmq = self.zmq
        sock = self.ctx.socket(zmq.SUB if name == "iopub" else zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 5)
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_msg)
        sock.setsockopt(zmq.RCVHWM, 8)
        if name == "iopub":
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(f"ipc://{self.kernel_ip}-{CHANNELS[name]}")
        return sock

    def sockets(self) -> dict:
        out = {}
        for name in CHANNELS:
            out[self.kernel[name]] = ("kernel", name)
            out[self.runner[name]] = ("runner", name)
            out[self.monitors[name]] = ("monitor", name)
        return out

    def forward(self, side: str, name: str, sock) -> None:
        zmq = self.zmq
        if side == "runner":
            self.kernel[name].send_multipart(sock.recv_multipart())
            return
        if side == "kernel":
            frames = sock.recv_multipart()
            if sum(len(f) for f in frames) > self.max_msg:
                frames = [DROPPED]
        else:
            sock.recv_multipart()
            # An oversize frame made libzmq drop the connection and it does not come back by
            # itself: a fresh socket, and a marker so the runner knows messages were lost.
            self.kernel[name].disable_monitor()
            self.monitors[name].close(0)
            self.kernel[name].close(0)
            self.kernel[name] = self._kernel_socket(name)
            self.monitors[name] = self.kernel[name].get_monitor_socket(zmq.EVENT_DISCONNECTED)
            frames = [DROPPED]
        try:
            self.runner[name].send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            pass  # the runner is not reading: it notices the loss through the idle it misses

    def close(self) -> None:
        for name in CHANNELS:
            self.kernel[name].disable_monitor()
            for sock in (self.monitors[name], self.kernel[name], self.runner[name]):
                sock.close(0)


class GuardProcess:
    """Runner-side handle of one guard process (per slot; restarted when it dies)."""

    def __init__(self, max_msg: int, memory: int) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-s", __file__, str(max_msg), str(memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"}, close_fds=True)

    def dead(self) -> bool:
        return self.proc.poll() is not None

    def connect(self, kernel_ip: str, runner_ip: str, timeout: float = 30.0) -> bool:
        """Point the guard at a new kernel; False if it did not answer."""
        import os
        import select

        for port in CHANNELS.values():  # stale sockets of an earlier guard
            try:
                os.unlink(f"{runner_ip}-{port}")
            except FileNotFoundError:
                pass
        try:
            self.proc.stdin.write(f"connect {kernel_ip} {runner_ip}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            return False
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(ready) and self.proc.stdout.readline() == b"ok\n"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def main(argv: list[str]) -> int:
    """Commands on stdin, one per line: `connect KERNEL_IP RUNNER_IP` (answered `ok`); EOF ends it."""
    max_msg, mem = int(argv[0]), int(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    import os

    import zmq

    ctx = zmq.Context()
    link: Link | None = None
    stdin = sys.stdin.fileno()
    buf = b""
    while True:
        poller = zmq.Poller()
        poller.register(stdin, zmq.POLLIN)
        by_sock = link.sockets() if link else {}
        for sock in by_sock:
            poller.register(sock, zmq.POLLIN)
        rebuild = False
        while not rebuild:
            for sock, _ in poller.poll():
                if rebuild:
                    break  # the other events belong to sockets that were just closed
                if sock == stdin:
                    chunk = os.read(stdin, 4096)
                    if not chunk:
                        return 0  # the runner is gone
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        _, kernel_ip, runner_ip = line.decode().split()
                        if link is not None:
                            link.close()
                        link = Link(ctx, kernel_ip, runner_ip, max_msg)
                        os.write(1, b"ok\n")
                        rebuild = True
                    continue
                if sock not in by_sock:
                    continue
                side, name = by_sock[sock]
                link.forward(side, name, sock)
                rebuild = rebuild or side == "monitor"  # its sockets were replaced


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
