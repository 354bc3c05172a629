"""A real Chromium driving the web console, for the console's browser tests.

Playwright for Python with Debian's ``chromium`` (Playwright can't download its
own browsers here): `launch_chromium` starts the system one. A `ConsoleBrowser`
is one browser context on one receiver. It

- collects every console error, uncaught page error and Content-Security-Policy
  violation (`problems`): the fixture fails the test on any that it did not
  `allow`;
- takes a screenshot of each page it visits (`goto`, `sign_in`, `snap`) into
  ``tests/artifacts/screenshots/<test>/`` (git-ignored), and checks each one for
  what every page must have (`page_problems`): one ``<main>``, one ``<h1>``, an
  accessible name for every form control and button, no inline style.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Response as PageResponse

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}

# Runs in every page before its own scripts (Playwright's init scripts are not
# subject to the page's CSP): a CSP violation becomes a console error.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""

_PAGE_PROBLEMS = """
() => {
  const problems = [];
  const name = (el) => (el.labels && el.labels.length && el.labels[0].textContent.trim())
      || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
      || el.getAttribute("title");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!name(el)) problems.push(`<${el.tagName.toLowerCase()} name=${el.name}> has no label`);
  }
  for (const el of document.querySelectorAll("button, a[href], [role=button]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) {
      problems.push(`a ${el.tagName.toLowerCase()} has no text or aria-label`);
    }
  }
  if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one <main>");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one <h1>");
  if (!document.documentElement.lang) problems.push("<html> has no lang");
  if (!document.title.trim()) problems.push("no <title>");
  // (Chromium itself leaves an empty style="" on some inputs.)
  for (const el of document.querySelectorAll('[style]:not([style=""])')) {
    problems.push(`inline style (the CSP blocks it): ${el.outerHTML.slice(0, 200)}`);
  }
  return problems;
}
"""


def chromium_path() -> str | None:
    return shutil.which("chromium")


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium, headless; ``--no-sandbox`` because tests run as root."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])


def screenshot_dir(test_id: str) -> Path:
    """An empty folder for one test's screenshots: ``<test file>/<test name>``."""
    module, _, name = test_id.rpartition("::")
    folder = SCREENSHOTS / Path(module).stem / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@dataclass
class ConsoleBrowser:
    """One browser context on the console at `base_url` (``http://host:port``)."""

    context: BrowserContext
    base_url: str
    admin_token: str
    shots: Path
    problems: list[str] = field(default_factory=list)
    _allowed: list[re.Pattern[str]] = field(default_factory=list)
    _count: int = 0

    @classmethod
    def open(cls, browser: Browser, base_url: str, admin_token: str, shots: Path,
             **context_options: Any) -> ConsoleBrowser:
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT,  # type: ignore[arg-type]
                                      **context_options)
        context.add_init_script(_REPORT_CSP_VIOLATIONS)
        opened = cls(context, base_url, admin_token, shots)
        context.new_page()
        return opened

    def __post_init__(self) -> None:
        self.context.on("page", self._watch)

    def _watch(self, page: Page) -> None:
        page.on("console", lambda message: self.problems.append(
            f"console {message.type}: {message.text} ({message.location.get('url', '')})")
            if message.type == "error" else None)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    @property
    def page(self) -> Page:
        return self.context.pages[-1]

    def allow(self, pattern: str) -> None:
        """Console errors matching `pattern` are expected (a test of a 403 or 503 page:
        Chromium logs "Failed to load resource" for an error status)."""
        self._allowed.append(re.compile(pattern))

    def unexpected_problems(self) -> list[str]:
        return [problem for problem in self.problems
                if not any(pattern.search(problem) for pattern in self._allowed)]

    def goto(self, path: str, label: str | None = None) -> PageResponse | None:
        """Open `path` (``/ui/...``), wait for it to load, take its screenshot."""
        response = self.page.goto(path, wait_until="load")
        self.snap(label or (path.strip("/").replace("/", "-") or "root"))
        return response

    def snap(self, label: str) -> Path:
        """A full-page screenshot of the page as it is now, and its checks."""
        self._count += 1
        path = self.shots / f"{self._count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        found = self.page.evaluate(_PAGE_PROBLEMS)
        self.problems.extend(f"{self.page.url}: {problem}" for problem in found)
        return path

    def sign_in(self, token: str | None = None) -> None:
        """Through the form, as a person would; ends on the page signing in leads to."""
        self.goto("/ui/sign-in", "sign-in")
        self.page.get_by_label("Admin token").fill(self.admin_token if token is None else token)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Sign in").click()
        self.snap("signed-in" if token is None else "sign-in-answer")

    def path(self) -> str:
        """The current page's path and query."""
        url = self.page.url
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    def close(self) -> None:
        self.context.close()
