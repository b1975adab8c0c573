"""The student's hands: the nbgrader Assignments panel and a notebook in JupyterLab, driven through Chromium.

Every step waits on the page (a selector, a dialog, a kernel state), never on time, and leaves a screenshot.
"""
from __future__ import annotations

import re
from pathlib import Path

# Generous: JupyterLab and kernels start slowly on a loaded 2-core machine; Validate runs a whole notebook.
STEP_MS = 180_000
VALIDATE_MS = 600_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class LabPage:
    def __init__(self, page, url: str, token: str, shots: Path):
        self.page, self.url, self.token, self.shots = page, url, token, shots
        self.n = 0
        page.set_default_timeout(STEP_MS)

    def shot(self, step: str) -> Path:
        self.n += 1
        path = self.shots / f"{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path))
        return path

    def open_lab(self) -> None:
        self.page.goto(f"{self.url}/lab?token={self.token}")
        self.page.wait_for_selector("#jp-main-dock-panel")
        self.shot("lab")

    # ---- the Assignments panel ---------------------------------------------------------------------------
    def open_assignments(self) -> None:
        self.page.get_by_role("menuitem", name="Nbgrader").click()
        self.page.click('li[data-command="nbgrader:open-assignment-list"]')
        self.page.wait_for_selector("#released_assignments_list")
        self.shot("assignments-tab")

    def row(self, listing: str, assignment: str):
        return self.page.locator(f"#{listing} .list_item:not(.nested_list_item)").filter(
            has=self.page.locator(".item_name", has_text=re.compile(rf"^\s*{re.escape(assignment)}\s*$")))

    def fetch(self, assignment: str) -> None:
        row = self.row("released_assignments_list", assignment)
        row.locator(".item_status button", has_text="Fetch").click()
        self.row("fetched_assignments_list", assignment).wait_for()
        self.shot(f"fetched-{assignment}")

    def open_notebook(self, assignment: str, notebook: str) -> None:
        row = self.row("fetched_assignments_list", assignment)
        link = row.locator(".nested_list_item a", has_text=notebook)
        if not link.is_visible():
            row.locator("a.assignment-notebooks-link").click()
        link.click()
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        self.wait_kernel_idle()
        self.shot(f"opened-{notebook}")

    def submit(self, assignment: str) -> None:
        self.open_assignments_again()
        row = self.row("fetched_assignments_list", assignment)
        row.locator(".item_status button", has_text="Submit").click()
        self.row("submitted_assignments_list", assignment).wait_for()
        self.shot(f"submitted-{assignment}")

    def open_assignments_again(self) -> None:
        self.page.get_by_role("menuitem", name="Nbgrader").click()
        self.page.click('li[data-command="nbgrader:open-assignment-list"]')
        self.page.wait_for_selector("#fetched_assignments_list:visible")

    def fetch_feedback(self, assignment: str) -> str:
        """Press Fetch Feedback; returns the folder the panel's "view feedback" link points at."""
        self.open_assignments_again()
        row = self.row("submitted_assignments_list", assignment).first
        row.locator("button", has_text="Fetch Feedback").click()
        view = self.row("submitted_assignments_list", assignment).locator("a", has_text="view feedback").first
        view.wait_for()
        self.shot(f"feedback-fetched-{assignment}")
        view.click()
        self.page.wait_for_selector(".jp-DirListing-item")
        self.shot(f"feedback-folder-{assignment}")
        crumbs = self.page.locator(".jp-BreadCrumbs").inner_text()
        return crumbs

    def read_file_page(self, path: str, step: str) -> str:
        """Open a file the student's server serves (their fetched feedback) in a tab of its own."""
        tab = self.page.context.new_page()
        tab.goto(f"{self.url}/files/{path}?token={self.token}")
        text = tab.locator("body").inner_text()
        self.n += 1
        tab.screenshot(path=str(self.shots / f"{self.n:02d}-{step}.png"), full_page=True)
        tab.close()
        return text

    # ---- the open notebook -----------------------------------------------------------------------------
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def wait_kernel_idle(self) -> None:
        self.notebook().locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()

    def cell(self, index: int):
        return self.notebook().locator(".jp-Notebook .jp-Cell").nth(index)

    def fill_cell(self, index: int, source: str, markdown: bool = False) -> None:
        """Replace the cell's text as a student would: click into it (a text cell: double-click to edit),
        select all, type."""
        cell = self.cell(index)
        if markdown:
            cell.locator(".jp-MarkdownOutput").dblclick()
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(source)

    def run_cell(self, index: int) -> str:
        """Run one cell (Shift+Enter) and return its output text once the kernel is idle again."""
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Shift+Enter")
        prompt = self.cell(index).locator(".jp-InputPrompt")
        self.page.wait_for_function("el => /\\[\\d+\\]/.test(el.innerText)", arg=prompt.element_handle(),
                                    timeout=STEP_MS)
        return self.cell(index).locator(".jp-OutputArea").inner_text()

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        self.page.wait_for_selector(".lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)")

    def validate(self, step: str) -> tuple[str, str]:
        """Press Validate in the notebook's toolbar; returns ("success" | "error", the dialog's message)."""
        self.save()
        self.notebook().locator(".validate-button").first.click()
        dialog = self.page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
        dialog.first.wait_for(timeout=VALIDATE_MS)
        kind = "success" if self.page.locator(".nbgrader-SuccessDialog").count() else "error"
        message = dialog.first.inner_text()
        self.shot(f"validate-{step}")
        self.page.locator(".jp-Dialog-button").last.click()
        dialog.first.wait_for(state="detached")
        return kind, message
