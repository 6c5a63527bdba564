#!/usr/bin/env python3
"""console_walk: the auditor's console driven in headless Chromium.

Run by tests/integration/test_console.c (test_browser_walk) against its
nwdd; every step is what a person does: type into a field, click a
button or a link, read what the page says.

  auditor-dan searches YP-001, opens the timeline from the results and a
  message from the timeline, exports the search as CSV (a download, read
  back), opens a subject-access request, checks the requester's identity,
  is refused the approval (four eyes, the 403 page in the browser);
  auditor-eve approves it in her own browser; dan reads the report as it
  would be released, prints it to PDF, releases it and downloads the
  report as given; sw-ben, not an auditor, gets the refusal page.

Screenshots and downloads go to --out.  Exits 0 if every page showed what
it should, else 1 with the reason (and the page) on stderr.

  console_walk.py --origin https://localhost:PORT --pki DIR --out DIR
                  --message-id UUID
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402


class Failed(Exception):
    pass


def expect(html, *needles, absent=()):
    for n in needles:
        if n not in html:
            raise Failed("no %r in the page:\n%s" % (n, html[-4000:]))
    for n in absent:
        if n in html:
            raise Failed("%r in the page:\n%s" % (n, html[-4000:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--origin", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--message-id", required=True)
    ap.add_argument("--chromium", default="chromium")
    a = ap.parse_args()
    o, out, mid = a.origin, a.out, a.message_id
    os.makedirs(out, exist_ok=True)
    browsers = []

    def browser(name):
        home = os.path.join(out, "home-" + name)
        cdp.make_home(home, os.path.join(a.pki, "ca.crt"),
                      os.path.join(a.pki, "clients", name + ".crt"),
                      os.path.join(a.pki, "clients", name + ".key"),
                      name, o)
        b = cdp.Browser(home, a.chromium)
        browsers.append(b)
        return b

    def shot(page, name):
        page.screenshot(os.path.join(out, name + ".png"))

    try:
        dan = browser("auditor-dan")
        downloads = os.path.join(out, "downloads")
        os.makedirs(downloads, exist_ok=True)
        dan.downloads_to(downloads)
        p = dan.page()

        # Log in (the certificate is chosen by the profile) and search.
        html = p.navigate(o + "/")
        expect(html, "Search the audit trail", "auditor-dan")
        shot(p, "01-search")
        p.type("input[name=subject]", "YP-001")
        html = p.click_and_load("form.search button:not([name])")
        expect(html, mid, "plo-ana")
        if "subject=YP-001" not in p.url():
            raise Failed("the search went to %s" % p.url())
        shot(p, "02-results")

        # The timeline from the results, a message from the timeline.
        html = p.click_and_load('a[href="/subject?id=YP-001"]')
        expect(html, "Timeline of YP-001", "published by plo-ana")
        shot(p, "03-timeline")
        html = p.click_and_load('a[href="/message?id=%s"]' % mid)
        expect(html, "hubsys-norwich", "risk alert")
        shot(p, "04-message")

        # The search exported as CSV: a download, read back.
        p.navigate(o + "/search?subject=YP-001")
        p.click('button[name=format][value=csv]')
        name, data = dan.wait_download(downloads)
        text = data.decode()
        if name != "nwd-audit.csv":
            raise Failed("the CSV was saved as %r" % name)
        expect(text, "at,id,instance,seq,at_unix_ms,actor,action", mid,
               ",publish,")
        with open(os.path.join(out, "export.csv"), "w") as f:
            f.write(text)

        # A subject-access request, opened through the form.
        html = p.click_and_load('a[href="/sar"]')
        expect(html, "Subject-access requests")
        p.type("#open input[name=ref]", "SAR-B1")
        p.type("#open input[name=subject]", "YP-001")
        p.type("#open input[name=requested_by]", "Jo Bloggs, by letter")
        html = p.click_and_load("#open button")
        expect(html, "Subject-access request SAR-B1",
               "Jo Bloggs, by letter", "identity is to be checked")
        shot(p, "05-case-opened")
        p.type("#check-identity input[name=how]", "passport seen")
        html = p.click_and_load("#check-identity button")
        expect(html, "identity checked: the release is to be approved",
               "passport seen")
        shot(p, "06-identity-checked")
        # Four eyes: dan opened it, so dan may not approve it.
        html = p.click_and_load("#approve button")
        expect(html, "Refused", "four eyes")
        shot(p, "07-four-eyes")

        # auditor-eve approves it in her own browser.
        eve = browser("auditor-eve")
        q = eve.page()
        q.navigate(o + "/sar")
        html = q.click_and_load('a[href="/sar/case?ref=SAR-B1"]')
        expect(html, "Subject-access request SAR-B1", "auditor-eve")
        html = q.click_and_load("#approve button")
        expect(html, "approved: ready to release")
        shot(q, "08-approved")

        # dan reads the report as it would be released, prints it.
        p.navigate(o + "/sar/case?ref=SAR-B1")
        html = p.click_and_load("#view")
        expect(html, "Information held about you", "SAR-B1",
               "Jo Bloggs, by letter", "Contents",
               absent=("plo-ana", "hubsys-norwich", "<script>alert"))
        shot(p, "09-report")
        p.pdf(os.path.join(out, "report.pdf"))

        # Released through the form, then downloaded as given.
        p.navigate(o + "/sar/case?ref=SAR-B1")
        html = p.click_and_load("#release button")
        expect(html, '<td id="state">released</td>', "Report given")
        shot(p, "10-released")
        p.click("#released")
        name, data = dan.wait_download(downloads)
        text = data.decode()
        if name != "sar-SAR-B1.html":
            raise Failed("the report was saved as %r" % name)
        expect(text, "Information held about you", "SAR-B1",
               absent=("plo-ana",))
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

        # Not an auditor: the refusal page, in the browser.
        ben = browser("sw-ben")
        r = ben.page()
        html = r.navigate(o + "/sar")
        expect(html, "Refused", "role social_worker may not use it",
               absent=("SAR-B1",))
        shot(r, "11-refused")
    except (Failed, cdp.CDPError, OSError) as e:
        print("console_walk: %s" % e, file=sys.stderr)
        return 1
    finally:
        for b in browsers:
            b.close()
    print("console_walk: every page as expected; screenshots in %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
