"""cdp: drives headless Chromium through the DevTools protocol.

Python's standard library only (no npm, no puppeteer): Chromium started
with --remote-debugging-pipe reads NUL-terminated JSON commands on its fd 3
and writes answers and events on its fd 4.  A Browser is one Chromium
process with its own HOME (an NSS database with the client certificate)
and profile; a Page is one tab attached in flat mode (commands carry its
sessionId).

What the tests need and no more: navigate and wait for the load, read the
DOM, type into a field and click an element with real input events (the
console's Content-Security-Policy forbids scripts in the page, and the
protocol's own evaluation is how a DevTools user reads it), downloads
into a directory, print to PDF, screenshots.  Every wait has a deadline;
nothing sleeps.
"""

import base64
import json
import os
import select
import subprocess
import time

TIMEOUT = 30.0  # seconds any one answer or event may take


class CDPError(Exception):
    """A command failed, an answer or event did not come, or Chromium
    went away."""


def make_home(home, ca, crt, key, name, origin):
    """Makes home: an NSS database trusting ca and holding the client
    certificate crt/key as name, and a profile whose content setting
    selects that certificate for origin without asking (as a managed
    Chromium's AutoSelectCertificateForUrls policy would)."""
    nss = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nss, exist_ok=True)
    os.makedirs(os.path.join(home, "profile", "Default"), exist_ok=True)
    p12 = os.path.join(home, "id.p12")
    db = "sql:" + nss
    for cmd in (
            ["certutil", "-N", "-d", db, "--empty-password"],
            ["certutil", "-A", "-n", "nwd-ca", "-t", "C,,", "-i", ca,
             "-d", db],
            ["openssl", "pkcs12", "-export", "-in", crt, "-inkey", key,
             "-out", p12, "-passout", "pass:", "-name", name],
            ["pk12util", "-i", p12, "-d", db, "-W", ""]):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    prefs = {"profile": {"content_settings": {"exceptions": {
        "auto_select_certificate": {origin + ",*": {"setting": {
            "filters": [{"ISSUER": {"CN": "nwd demo CA"}}]}}}}}}}
    with open(os.path.join(home, "profile", "Default", "Preferences"),
              "w") as f:
        json.dump(prefs, f)


class Browser:
    """One headless Chromium, HOME=home, profile home/profile; its
    output goes to home/chromium.log."""

    def __init__(self, home, chromium="chromium"):
        self.home = home
        self.next_id = 0
        self.events = []        # events read while waiting for answers
        self.buf = b""
        cmd_r, self.cmd_w = os.pipe()   # Chromium reads fd 3
        self.res_r, res_w = os.pipe()   # Chromium writes fd 4
        # Out of the way of 3 and 4 before the child's dup2s.
        hi_r = os.dup2(cmd_r, 203, inheritable=False)
        hi_w = os.dup2(res_w, 204, inheritable=False)
        os.close(cmd_r)
        os.close(res_w)
        args = [chromium, "--headless", "--remote-debugging-pipe",
                "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions",
                "--user-data-dir=" + os.path.join(home, "profile"),
                "--window-size=1280,900", "about:blank"]
        if os.geteuid() == 0:
            args.insert(2, "--no-sandbox")  # Chromium refuses root else
        env = dict(os.environ, HOME=home)
        log = os.path.join(home, "chromium.log")
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log,
             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
            (os.POSIX_SPAWN_DUP2, hi_r, 3),
            (os.POSIX_SPAWN_DUP2, hi_w, 4),
        ]
        try:
            self.pid = os.posix_spawnp(chromium, args, env,
                                       file_actions=actions)
        finally:
            os.close(hi_r)
            os.close(hi_w)

    def close(self):
        """Asks Chromium to end and reaps it (killed if it has not ended
        within 10 s: waited for on its pidfd, not polled)."""
        try:
            self.send("Browser.close")
        except OSError:
            pass
        pidfd = os.pidfd_open(self.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], 10)
            if not ready:
                os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        finally:
            os.close(pidfd)
            os.close(self.cmd_w)
            os.close(self.res_r)

    # ---- the wire ---------------------------------------------------------

    def send(self, method, params=None, session=None):
        """Sends a command; its id."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method,
               "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.cmd_w, data)
            data = data[n:]
        return self.next_id

    def _read(self, timeout):
        """Reads what Chromium wrote within timeout; the messages."""
        r, _, _ = select.select([self.res_r], [], [], max(timeout, 0))
        if not r:
            return []
        chunk = os.read(self.res_r, 1 << 20)
        if not chunk:
            raise CDPError("chromium closed its pipe (see %s/chromium.log)"
                           % self.home)
        self.buf += chunk
        *msgs, self.buf = self.buf.split(b"\0")
        return [json.loads(m) for m in msgs if m]

    def call(self, method, params=None, session=None, timeout=TIMEOUT):
        """A command and its result; CDPError if it failed."""
        want = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            for m in self._read(deadline - time.monotonic()):
                if m.get("id") == want:
                    if "error" in m:
                        raise CDPError("%s: %s" % (method, m["error"]))
                    return m.get("result", {})
                if "method" in m:
                    self.events.append(m)
            if time.monotonic() > deadline:
                raise CDPError("%s: no answer in %gs" % (method, timeout))

    def wait_event(self, method, session=None, pred=None, timeout=TIMEOUT):
        """The first event method (of session; pred(params) true), taken
        from those queued or read within timeout."""
        def match(m):
            return (m.get("method") == method and
                    (session is None or m.get("sessionId") == session) and
                    (pred is None or pred(m.get("params", {}))))
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if match(m):
                    return self.events.pop(i)["params"]
            for m in self._read(deadline - time.monotonic()):
                if "method" in m:
                    self.events.append(m)
            if time.monotonic() > deadline and not any(
                    match(m) for m in self.events):
                raise CDPError("no %s in %gs" % (method, timeout))

    def drop_events(self, method):
        self.events = [m for m in self.events if m.get("method") != method]

    # ---- pages and downloads ---------------------------------------------

    def page(self):
        """A new tab, attached, with its Page and Runtime events on."""
        target = self.call("Target.createTarget",
                           {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})[
                                "sessionId"]
        p = Page(self, session)
        p.call("Page.enable")
        p.call("Runtime.enable")
        return p

    def downloads_to(self, directory):
        """Downloads go to directory, each named by its guid."""
        self.call("Browser.setDownloadBehavior",
                  {"behavior": "allowAndName", "downloadPath": directory,
                   "eventsEnabled": True})

    def wait_download(self, directory, timeout=TIMEOUT):
        """Waits for the next download to complete; (its suggested file
        name, its bytes)."""
        begun = self.wait_event("Browser.downloadWillBegin",
                                timeout=timeout)
        guid = begun["guid"]
        done = self.wait_event(
            "Browser.downloadProgress", timeout=timeout,
            pred=lambda p: p.get("guid") == guid and
            p.get("state") in ("completed", "canceled"))
        if done["state"] != "completed":
            raise CDPError("download of %s was canceled" % begun["url"])
        with open(os.path.join(directory, guid), "rb") as f:
            return begun["suggestedFilename"], f.read()


class Page:
    """One tab of a Browser."""

    def __init__(self, browser, session):
        self.b = browser
        self.session = session

    def call(self, method, params=None, timeout=TIMEOUT):
        return self.b.call(method, params, self.session, timeout)

    def eval(self, expression):
        """The value of a JavaScript expression in the page."""
        r = self.call("Runtime.evaluate",
                      {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise CDPError("evaluate %s: %s" % (expression,
                                                r["exceptionDetails"]))
        return r["result"].get("value")

    def navigate(self, url):
        """Loads url and waits for its load event; the DOM."""
        self.b.drop_events("Page.loadEventFired")
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CDPError("navigate %s: %s" % (url, r["errorText"]))
        self.b.wait_event("Page.loadEventFired", self.session)
        return self.html()

    def html(self):
        return self.eval("document.documentElement.outerHTML")

    def url(self):
        return self.eval("location.href")

    def _centre(self, selector):
        where = self.eval(
            "(function () { var e = document.querySelector(%s);"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " var r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
            % json.dumps(selector))
        if where is None:
            raise CDPError("no element %s on %s" % (selector, self.url()))
        return where

    def click(self, selector):
        """Clicks the element's centre with the mouse, as a person
        would."""
        x, y = self._centre(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left",
                       "clickCount": 1})

    def click_and_load(self, selector):
        """Clicks, then waits for the page the click loads; the DOM."""
        self.b.drop_events("Page.loadEventFired")
        self.click(selector)
        self.b.wait_event("Page.loadEventFired", self.session)
        return self.html()

    def type(self, selector, text):
        """Focuses the field (by a click) and types text into it."""
        self.click(selector)
        self.eval("document.querySelector(%s).select()"
                  % json.dumps(selector))
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def pdf(self, path):
        data = self.call("Page.printToPDF", {"printBackground": True},
                         timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
