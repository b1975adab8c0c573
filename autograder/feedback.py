"""Per-student HTML feedback from the results JSON: verdict messages and the student's own cells.

Only data the student may see goes in: their own cell sources and outputs (capped by the runner), and the
comparators' short messages. Hidden-test source, probe cells and tracebacks through them never reach this
module (probe cells are not in the result's `cells`). Everything is HTML-escaped by jinja2's autoescape.
"""
from __future__ import annotations

import os
from pathlib import Path

import jinja2

from autograder.results import write_atomic

MAX_TEXT = 20_000  # characters of one output shown in feedback

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ assignment }}: feedback for {{ student }}</title>
<style>
body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.passed{color:#060}.bad{color:#a00}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}
.out{background:#fff;border-left:3px solid #ccc}
</style></head><body>
<h1>{{ assignment }}: {{ student }}</h1>
<p>Test score (raw): <b>{{ "%g"|format(score) }} / {{ "%g"|format(max_score) }}</b>{% if not sandbox %}
 (graded without the sandbox){% endif %}</p>
{% if final %}<p class="final">Final points, as the course grades them: <b>{{ final }}</b></p>{% endif %}
<table><tr><th>notebook</th><th>test</th><th>score</th><th>result</th><th>message</th></tr>
{% for t in tests %}<tr><td>{{ t.notebook }}</td><td>{{ t.test_id }}</td>
<td>{{ "%g"|format(t.score) }} / {{ "%g"|format(t.max_score) }}</td>
<td class="{{ 'passed' if t.status == 'passed' else 'bad' }}">{{ t.status }}</td><td>{{ t.message }}</td></tr>
{% endfor %}</table>
{% if notes %}<h2>Notes</h2><ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<h2>Your code as it was run</h2>
{% for c in cells %}<h3>{{ c.notebook }} · {{ c.key }}{% if c.status != 'ok' %}
 <span class="bad">({{ c.status }}{% if c.message %}: {{ c.message }}{% endif %})</span>{% endif %}</h3>
<pre>{{ c.source }}</pre>
{% for o in c.outputs %}<pre class="out">{{ o }}</pre>{% endfor %}
{% endfor %}
</body></html>
"""


def _output_text(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        text = out.get("text", "")
    elif kind == "error":
        # the student's own error in their own cell: name and value only, no traceback frames
        text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
    else:
        data = out.get("data", {}) if isinstance(out.get("data"), dict) else {}
        text = data.get("text/plain", "[non-text output]" if data else "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[output truncated]"


def render(result: dict, final: str = "") -> str:
    """`final`: the item's line of `course explain` (late penalty, window, cap), shown next to the raw score."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    cells = [{**c, "outputs": [_output_text(o) for o in c.get("outputs", []) if isinstance(o, dict)]}
             for c in result.get("cells", [])]
    return env.from_string(TEMPLATE).render(
        assignment=result["assignment"], student=result["student"], score=result.get("score", 0.0),
        max_score=result.get("max_score", 0.0), sandbox=result.get("sandbox", True), tests=result["tests"],
        notes=result.get("notes", []), cells=cells, final=final)


def write_feedback(course, result: dict, final: str = "") -> Path:
    """<feedback>/<student>/<assignment>/feedback.html (nbgrader's feedback folder layout).

    Readable by its student alone: the folders and the file belong to the instructor and to the student's
    own group (0750/0640); without such a group (no account, or not root) they stay instructor-only."""
    from course_dir import (
        PRIVATE_DIR,
        PRIVATE_FILE,
        STUDENT_DIR,
        STUDENT_FILE,
        feedback_group,
        make_dir,
        prepare,
    )

    prepare(course)
    gid = feedback_group(result["student"])
    dir_mode, file_mode = (PRIVATE_DIR, PRIVATE_FILE) if gid is None else (STUDENT_DIR, STUDENT_FILE)
    folder = Path(course.feedback) / result["student"] / result["assignment"]
    make_dir(folder.parent, dir_mode, -1 if gid is None else gid)
    make_dir(folder, dir_mode, -1 if gid is None else gid)
    path = folder / "feedback.html"
    write_atomic(path, render(result, final))  # a fresh 0600 file, renamed into place
    if gid is not None:
        os.chown(path, -1, gid)
    os.chmod(path, file_mode)
    return path
