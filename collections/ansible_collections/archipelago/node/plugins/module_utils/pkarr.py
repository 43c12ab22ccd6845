# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""HTTP client for Pkarr relays and the DHT part of did:dht gateways: `GET /{z32}` and
`PUT /{z32}` with the body sig(64) || seq(u64 BE) || v.

Any 2xx to a PUT means published (relays answer 200 or 204). Connection errors, 429 and 5xx to a
GET are retried with back-off; a PUT is retried only on connection errors and 429 (a 5xx from
JS pkarr means "same or older seq", which a retry cannot fix). The fetch function is injectable
for the unit tests.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.archipelago.node.plugins.module_utils.deadline import socket_timeout
from ansible_collections.archipelago.node.plugins.module_utils.rpc import backoff_delays

PUT_STATUS_HINTS = {
    400: "the relay refused the key, signature or packet",
    409: "the relay holds a newer record (seq is older than the stored one)",
    413: "the signed packet is larger than the relay accepts (1072 bytes)",
    500: "the relay failed to store it (JS pkarr answers 500 to a same or older seq)",
}


class RelayError(Exception):
    def __init__(self, message, relay=None, status=None):
        super(RelayError, self).__init__(message)
        self.message = message
        self.relay = relay
        self.status = status


def check_relay_url(url):
    """The relay base URL ending in '/', or RelayError saying what is wrong with it."""
    try:
        from urllib.parse import urlsplit
    except ImportError:  # pragma: no cover - Python 2
        from urlparse import urlsplit
    text = url if isinstance(url, str) else ""
    bad = RelayError(("relay URL is not an http(s) URL such as http://relay.example:6881/: %r" % (url,))[:300],
                     relay=url)
    if not text or len(text) > 2048 or any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise bad
    try:
        parts = urlsplit(text)
        if parts.port is not None and not parts.port:   # reading .port raises on a port that is not one
            raise ValueError("port 0")
    except ValueError:
        raise bad
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise bad
    if "@" in parts.netloc:
        raise RelayError("relay URL %s://…@%s carries credentials; relays take none" % (parts.scheme, parts.hostname),
                         relay=None)
    # the DID's z32 is joined onto the path: without a final '/' the last segment would be lost
    return url if url.endswith("/") else url + "/"


class Relays:
    def __init__(self, fetch, retries=3, base_delay=1.0, sleep=None, deadline=None, clock=None):
        self.fetch = fetch            # fetch(method, url, body) -> (status, bytes) or raises IOError
        self.retries = retries
        self.base_delay = base_delay
        self.sleep = sleep or time.sleep   # looked up when built: a test can speed the back-offs up
        self.deadline = deadline      # clock() by which the whole run (every relay, every attempt) ends
        self.clock = clock or time.monotonic
        self.log = []                 # [{relay, method, status}] for the module's result

    def _time_left(self, method, url, delay=0):
        if self.deadline is not None and self.clock() + delay > self.deadline:
            raise RelayError("%s %s: no time left in this run for another attempt (the run's deadline is timeout "
                             "x (retries + 3) + 120 s, for all relays together)" % (method, url))

    def _call(self, method, base, z32, body=None, retry_5xx=False):
        url = check_relay_url(base) + z32
        last = None
        for delay in backoff_delays(self.retries, self.base_delay) + [None]:
            self._time_left(method, url)
            try:
                status, data = self.fetch(method, url, body)
                self.log.append({"relay": base, "method": method, "status": status})
                if status == 429 or (retry_5xx and status >= 500):
                    last = "HTTP %d" % status
                else:
                    return status, data
            except (IOError, OSError, ValueError) as exc:
                self.log.append({"relay": base, "method": method, "status": None})
                last = str(exc) or exc.__class__.__name__
            if delay is None:
                break
            self._time_left(method, url, delay)
            self.sleep(delay)
        raise RelayError("%s %s failed after %d attempts (%s); check that the relay is running and the URL is right"
                         % (method, url, self.retries + 1, last), relay=base)

    def get(self, base, z32):
        """The relay's body for z32, or None when it has no record (404)."""
        status, data = self._call("GET", base, z32, retry_5xx=True)
        if status == 404:
            return None
        if not 200 <= status < 300:
            hint = REDIRECT_HINT if 300 <= status < 400 else ""
            raise RelayError("GET %s%s answered HTTP %d%s" % (check_relay_url(base), z32, status, hint),
                             relay=base, status=status)
        return data

    def put(self, base, z32, body):
        status, data = self._call("PUT", base, z32, body)
        if 200 <= status < 300:
            return status
        hint = PUT_STATUS_HINTS.get(status, REDIRECT_HINT.lstrip(": ") if 300 <= status < 400 else "unexpected answer")
        text = (data or b"")[:120].decode("utf-8", "replace").strip()
        raise RelayError("PUT %s%s answered HTTP %d: %s%s" % (check_relay_url(base), z32, status, hint,
                                                              " (%s)" % text if text else ""), relay=base, status=status)


READ_MAX = 65536          # a relay body is at most 1072 bytes; an error page is cut here
REDIRECT_HINT = ": redirects are not followed; name the relay by the URL it serves from"


def read_body(resp, deadline, limit=READ_MAX):
    """A reply's body in pieces as they arrive (read1), refused past `limit` bytes, when it is
    cut short of its Content-Length, or when it is still arriving at `deadline`."""
    read = getattr(resp, "read1", None) or resp.read
    chunks, size = [], 0
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise IOError("the relay's answer was still arriving when the time for this run was up")
        piece = read(4096)
        if not piece:
            break
        size += len(piece)
        if size > limit:
            raise IOError("the relay answered more than %d bytes" % limit)
        chunks.append(piece)
    if (getattr(resp, "length", None) or 0) > 0:
        raise IOError("the relay's answer was cut short (%d bytes missing)" % resp.length)
    return b"".join(chunks)


def open_url_fetch(timeout=10, validate_certs=True, deadline=None):
    """fetch() on ansible's open_url: returns (status, body) for HTTP errors and redirects (which
    are not followed) too; a reply that is truncated, has a garbage status line, is too large or
    is still arriving at `deadline` becomes IOError (retried while time is left, then reported)."""
    import http.client
    from urllib.error import HTTPError  # Python 3 only, as the nodes are
    from ansible.module_utils.urls import open_url

    def fetch(method, url, body):
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        try:
            resp = open_url(url, data=body, method=method, headers=headers,
                            timeout=socket_timeout(timeout, deadline), validate_certs=validate_certs,
                            follow_redirects="none")
            return resp.getcode(), read_body(resp, deadline)
        except HTTPError as exc:
            try:
                data = read_body(exc, deadline)
            except Exception:  # pylint: disable=broad-except
                data = b""
            return exc.code, data
        except http.client.HTTPException as exc:
            raise IOError("the relay's answer is not valid HTTP (%s)" % (exc.__class__.__name__,))
    return fetch
