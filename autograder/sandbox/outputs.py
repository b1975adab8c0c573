"""Turns a cell's iopub messages into nbformat v4 outputs, byte-capped while they arrive."""
from __future__ import annotations

import json
import re

from autograder.model import PROBE_MIME

# C0 controls other than \t \n \r and ESC (ANSI colours are kept: notebooks render them).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Valid UTF-8 without stray control characters (lone surrogates become U+FFFD)."""
    if not isinstance(text, str):
        text = str(text)
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return _CONTROL.sub("\ufffd", text)


def _clean(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean(v) for k, v in value.items()}
    return value


def _size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "replace"))


class OutputCollector:
    """Outputs of one cell. Every byte received counts against the caps, even if later cleared."""

    def __init__(self, output_cap: int, probe_cap: int) -> None:
        self.output_cap = output_cap
        self.probe_cap = probe_cap
        self.outputs: list[dict] = []
        self.probe_payloads: list[dict] = []
        self.used = 0
        self.probe_used = 0
        self.over = 0  # output bytes dropped
        self.probe_over = 0
        self.lost_messages = 0  # messages the transport dropped (over the message size cap)
        self.notes: list[str] = []  # the runner's own lines for the student (e.g. a limit that was reached)

    def _room(self, nbytes: int) -> int:
        room = max(0, self.output_cap - self.used)
        take = min(room, nbytes)
        self.used += take
        self.over += nbytes - take
        return take

    def add(self, msg_type: str, content: dict) -> None:
        if msg_type == "stream":
            self._stream(str(content.get("name", "stdout")), content.get("text", ""))
        elif msg_type in ("display_data", "execute_result"):
            self._display(msg_type, content)
        elif msg_type == "error":
            self._error(content)
        elif msg_type == "clear_output":
            self.outputs = [o for o in self.outputs if o.get("output_type") == "error"]

    def _stream(self, name: str, text) -> None:
        name = "stderr" if name == "stderr" else "stdout"
        raw = clean_text(text).encode("utf-8")
        take = self._room(len(raw))
        if not take:
            return
        text = raw[:take].decode("utf-8", "ignore")
        last = self.outputs[-1] if self.outputs else None
        if last and last.get("output_type") == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def _display(self, msg_type: str, content: dict) -> None:
        data = content.get("data")
        if not isinstance(data, dict):
            return
        data = dict(data)
        if PROBE_MIME in data:
            self._probe(data.pop(PROBE_MIME))
        if not data:
            return
        data = _clean(data)
        metadata = _clean(content.get("metadata") or {})
        out: dict = {"output_type": msg_type, "data": data, "metadata": metadata}
        if msg_type == "execute_result":
            count = content.get("execution_count")
            out["execution_count"] = count if isinstance(count, int) else None
        size = _size(out)
        if self._room(size) < size:
            return  # a display is all or nothing; the marker says how much was dropped
        self.outputs.append(out)

    def _probe(self, payload) -> None:
        if isinstance(payload, str):  # some frontends send JSON MIME data as a string
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = None
        if not isinstance(payload, dict):
            return
        size = _size(payload)
        if self.probe_used + size > self.probe_cap:
            self.probe_over += size
            return
        self.probe_used += size
        self.probe_payloads.append(_clean(payload))

    def _error(self, content: dict) -> None:
        tb = content.get("traceback")
        out = {
            "output_type": "error",
            "ename": clean_text(content.get("ename", "")),
            "evalue": clean_text(content.get("evalue", "")),
            "traceback": [clean_text(t) for t in tb] if isinstance(tb, list) else [],
        }
        size = _size(out)
        if self._room(size) < size:
            # keep the exception itself; only the traceback is dropped
            out["traceback"] = []
            out["evalue"] = out["evalue"][:1000]
            self.used += _size(out)
        self.outputs.append(out)

    def finish(self) -> list[dict]:
        notes = list(self.notes)
        if self.over:
            notes.append(f"[output truncated: {self.over} bytes over the cap of {self.output_cap} bytes]")
        if self.lost_messages:
            notes.append("[output truncated: a message over the message size cap was dropped]")
        if self.probe_over:
            notes.append(f"[probe results dropped: {self.probe_over} bytes over the cap of {self.probe_cap} bytes]")
        if notes:
            self.outputs.append({"output_type": "stream", "name": "stderr", "text": "\n".join(notes) + "\n"})
        return self.outputs
