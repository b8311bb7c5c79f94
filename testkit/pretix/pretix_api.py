"""A small client of pretix's REST API for boxoffice's test scripts (standard library only).

Speaks as the seeded team token (`Authorization: Token ...`), follows `next` links, and raises
with the status and the start of the body on anything but 2xx.
"""

import json
import urllib.error
import urllib.request


class Api:
    def __init__(self, base_url, organizer, token):
        self.root = f"{base_url.rstrip('/')}/api/v1/organizers/{organizer}"
        self.token = token

    def call(self, method, path, body=None):
        url = path if path.startswith("http") else self.root + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Token {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {url}: HTTP {e.code}: {e.read()[:500]!r}") from None
        return json.loads(raw) if raw else None

    def all(self, path):
        """Every result of a paged listing."""
        out = []
        url = self.root + path
        while url:
            page = self.call("GET", url)
            out.extend(page["results"])
            url = page["next"]
        return out
