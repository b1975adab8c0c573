"""Message guard between an untrusted kernel and the trusted runner (one small process per kernel).

libzmq's ZMQ_MAXMSGSIZE caps each *frame*, not a whole multipart message: a kernel can send one
message of 60 frames x 8 MiB (the same buffer repeated, so it costs the kernel nothing) and the receiver
holds all of it before the first frame is readable. This process receives in the runner's stead under an
address-space limit, forwards only messages up to the cap and drops the rest with a marker frame; if a
message breaks its memory limit it dies, and the runner treats that like an output bomb.

Standalone script (stdlib + pyzmq): argv = KERNEL_IP RUNNER_IP MAX_MSG MEM_LIMIT.
Channels: shell and control (DEALER to the kernel), iopub (SUB); towards the runner one PAIR each.
"""
from __future__ import annotations

import resource
import sys

DROPPED = b"\x00course-guard-dropped"
CHANNELS = {"shell": 1, "iopub": 2, "control": 4}


def main(argv: list[str]) -> int:
    kernel_ip, runner_ip, max_msg, mem = argv[0], argv[1], int(argv[2]), int(argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    import zmq

    ctx = zmq.Context()

    def kernel_socket(name: str) -> zmq.Socket:
        sock = ctx.socket(zmq.SUB if name == "iopub" else zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 5)
        sock.setsockopt(zmq.MAXMSGSIZE, max_msg)
        sock.setsockopt(zmq.RCVHWM, 8)
        if name == "iopub":
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(f"ipc://{kernel_ip}-{CHANNELS[name]}")
        return sock

    kernel = {name: kernel_socket(name) for name in CHANNELS}
    monitors = {name: sock.get_monitor_socket(zmq.EVENT_DISCONNECTED) for name, sock in kernel.items()}
    runner = {}
    for name, port in CHANNELS.items():
        sock = ctx.socket(zmq.PAIR)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(f"ipc://{runner_ip}-{port}")
        runner[name] = sock
    poller = zmq.Poller()
    poller.register(sys.stdin.fileno(), zmq.POLLIN)  # EOF: the runner is gone
    for name in CHANNELS:
        poller.register(kernel[name], zmq.POLLIN)
        poller.register(runner[name], zmq.POLLIN)
        poller.register(monitors[name], zmq.POLLIN)
    by_sock = {}
    for name in CHANNELS:
        by_sock[kernel[name]] = ("kernel", name)
        by_sock[runner[name]] = ("runner", name)
        by_sock[monitors[name]] = ("monitor", name)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for sock, _ in poller.poll():
            if sock == sys.stdin.fileno():
                return 0
            side, name = by_sock[sock]
            if side == "runner":
                kernel[name].send_multipart(sock.recv_multipart())
            elif side == "kernel":
                frames = sock.recv_multipart()
                if sum(len(f) for f in frames) > max_msg:
                    frames = [DROPPED]
                try:
                    runner[name].send_multipart(frames, zmq.NOBLOCK)
                except zmq.Again:
                    pass  # the runner is not reading: it counts the loss through the idle it misses
            else:
                sock.recv_multipart()
                # An oversize frame made libzmq drop the connection and it does not come back by
                # itself: a fresh socket, and a marker so the runner knows messages were lost.
                for s in (kernel[name], monitors[name]):
                    poller.unregister(s)
                    del by_sock[s]
                kernel[name].disable_monitor()
                monitors[name].close(0)
                kernel[name].close(0)
                kernel[name] = kernel_socket(name)
                monitors[name] = kernel[name].get_monitor_socket(zmq.EVENT_DISCONNECTED)
                for s, tag in ((kernel[name], "kernel"), (monitors[name], "monitor")):
                    poller.register(s, zmq.POLLIN)
                    by_sock[s] = (tag, name)
                try:
                    runner[name].send_multipart([DROPPED], zmq.NOBLOCK)
                except zmq.Again:
                    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
