# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Client for the Archipelago backend's JSON-RPC API (POST /rpc/v1).

Every assumption about the contract lives here:
- envelope {"result": ..., "error": null} / {"result": null, "error": {code, message, data}};
  handler errors come back as HTTP 200 with `error` set;
- 401: no session -> log in again once; 403: CSRF/origin refusal; 429: rate limited -> back off;
- session cookie + double-submit CSRF: cookies `session`, `csrf_token`, header `X-CSRF-Token`,
  plus `X-Requested-With: XMLHttpRequest`;
- `auth.login {password}` may answer `{requires_totp: true}`: then `auth.login.totp {code}`.

The transport is injectable so the logic can be tested without a server.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import http.client
import json
import os
import re
import stat
import time

from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils.deadline import socket_timeout

DEFAULT_URL = "http://127.0.0.1:5678/rpc/v1"
UNAUTHENTICATED = frozenset(["health", "auth.login", "auth.login.totp", "auth.login.backup",
                             "auth.isOnboardingComplete", "auth.isSetup", "auth.setup"])
SECRET_KEYS = frozenset(["password", "passphrase", "code", "secret", "totp_code", "invite_code",
                         "csrf_token", "session", "nostr_secret", "private_key"])
REDACTED = "********"
MAX_BODY = 4 * 1024 * 1024        # a backend reply larger than this is refused, not read on
MAX_PASSWORD_FILE = 4096
RETRIES_MAX = 10
TIMEOUT_MAX = 300


class RpcError(Exception):
    """A failed call, with a message an operator can act on."""

    def __init__(self, message, method=None, url=None, status=None, code=None, kind="error"):
        super(RpcError, self).__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.kind = kind  # error | refused | auth | rate_limited | unreachable | protocol


def redact(value):
    """A copy of value with every secret-looking key's value replaced by a mark."""
    if isinstance(value, dict):
        return dict((k, REDACTED if k in SECRET_KEYS and v not in (None, "") else redact(v)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def parse_envelope(status, body, method=None, url=None):
    """(result, error) from an HTTP status and body text; RpcError(kind=protocol), naming the
    method when given, when it is not the backend's envelope. An `error` that is set in any form
    (even {}) is an error."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError):   # not JSON, or nested too deeply to be a reply
        data = None
    if not isinstance(data, dict) or ("result" not in data and "error" not in data):
        snippet = (body or "")[:120].replace("\n", " ")
        where = "%s on %s answered " % (method, url) if method else ""
        raise RpcError("%sHTTP %s with a body that is not the backend's JSON envelope: %r" % (where, status, snippet),
                       method=method, url=url, status=status, kind="protocol")
    error = data.get("error")
    if error is not None:
        if not isinstance(error, dict):
            error = {"code": -1, "message": str(error)[:200]}
        message = error.get("message")
        error = {"code": error.get("code"), "message": str(message)[:500] if message else "an error without a message"}
    return data.get("result"), error


def kind_of(value):
    """How a reply value is named in a message (never the value itself: it may be large or secret)."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def dict_reply(result, method, url=None, keys=()):
    """The result of `method` as an object: null is {}; anything but an object, or one whose
    `keys` are not strings, is a protocol error naming the method."""
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise RpcError("%s on %s answered %s where an object was expected: not this backend's contract"
                       % (method, url, kind_of(result)), method=method, url=url, kind="protocol")
    for key in keys:
        if not isinstance(result.get(key), str) or not result.get(key):
            raise RpcError("%s on %s answered an object without a text %r (%s): not this backend's contract"
                           % (method, url, key, kind_of(result.get(key))), method=method, url=url, kind="protocol")
    return result


def list_reply(result, method, url=None, keys=(), numbers=()):
    """The result of `method` as a list of objects: null is []; each entry must be an object
    whose `keys` are non-empty strings and whose `numbers` are numbers (or absent)."""
    if result is None:
        return []
    if not isinstance(result, list):
        raise RpcError("%s on %s answered %s where a list was expected: not this backend's contract"
                       % (method, url, kind_of(result)), method=method, url=url, kind="protocol")
    for i, entry in enumerate(result):
        if not isinstance(entry, dict):
            raise RpcError("%s on %s answered a list whose entry %d is %s, not an object"
                           % (method, url, i, kind_of(entry)), method=method, url=url, kind="protocol")
        for key in keys:
            if not isinstance(entry.get(key), str) or not entry.get(key):
                raise RpcError("%s on %s answered an entry (%d) without a text %r" % (method, url, i, key),
                               method=method, url=url, kind="protocol")
        for key in numbers:
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise RpcError("%s on %s answered an entry (%d) whose %r is %s, not a number"
                               % (method, url, i, key, kind_of(value)), method=method, url=url, kind="protocol")
    return result


def check_url(url):
    """The RPC URL, refused unless it is http(s)://host[:port]/path with no user or password in it.
    The message never repeats what stood before the host."""
    from ansible.module_utils.six.moves.urllib.parse import urlsplit
    if not isinstance(url, str) or not url or any(ord(c) < 33 for c in url):
        raise RpcError("url must be an http:// or https:// URL without spaces or control characters", kind="usage")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise RpcError("url is not a valid URL (%s)" % exc, kind="usage")
    if parts.scheme not in ("http", "https"):
        raise RpcError("url must be an http:// or https:// URL, not %s://" % (parts.scheme or "(none)")[:16],
                       kind="usage")
    if "@" in parts.netloc:
        raise RpcError("url must not carry a user or password (use password_file); the URL is not shown",
                       kind="usage")
    if not host:
        raise RpcError("url %s names no host" % url, kind="usage")
    return url


def url_password(url):
    """The password in a URL's user part (http://user:password@host/), or None. Such a URL is
    refused, but the task's arguments are still echoed in the result (invocation): a module adds
    this to its no_log_values first, so it is masked there too."""
    if not isinstance(url, str) or "@" not in url:
        return None
    netloc = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    userinfo = netloc.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return password or None


def mask_url_passwords(module, urls):
    """Register the password of each URL (a str or a list) as a secret of this run."""
    for url in urls if isinstance(urls, list) else [urls]:
        password = url_password(url)
        if password:
            module.no_log_values.add(password)


def backoff_delays(retries, base, cap=30.0):
    """Exponential delays for `retries` further attempts: base, 2*base, 4*base ... capped."""
    return [min(cap, base * (2 ** i)) for i in range(retries)]


SESSION_COOKIES = ("session", "csrf_token", "remember")
COOKIE_VALUE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~:/=-]{1,4096}$")


class Transport:
    """HTTP POST on ansible's open_url (proxies, TLS options), keeping the session cookies.

    The cookies can be kept in a file (mode 0600) so that one login serves many module runs:
    the backend allows 5 logins a minute per address, and a playbook runs many modules."""

    def __init__(self, timeout=10, validate_certs=True, session_file=None):
        from ansible.module_utils.urls import open_url  # imported here: unit tests inject a fake
        self.open_url = open_url
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.session_file = session_file
        self.deadline = None   # time.monotonic() by which a reply must be read; set by RpcClient
        self.cookies = {}
        self._load()

    def _load(self):
        """The cached cookies; a cache that is not exactly what _save writes (a regular file of
        at most 64 KiB holding known cookie names with token values) is removed, and the run
        logs in afresh instead of failing on it."""
        if not self.session_file:
            return
        self.cookies = {}
        try:
            fd = os.open(self.session_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (IOError, OSError):
            return  # none yet
        try:
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise ValueError("not a regular file")
                data = json.loads(fh.read(65537).decode("utf-8"))
            if not isinstance(data, dict) or not all(
                    k in SESSION_COOKIES and isinstance(v, str) and COOKIE_VALUE.match(v) for k, v in data.items()):
                raise ValueError("unexpected content")
            self.cookies = data
        except (IOError, OSError, ValueError, RecursionError):
            self.discard()

    def discard(self):
        """Remove a corrupt session cache (the next login writes a new one)."""
        self.cookies = {}
        try:
            if not os.path.isdir(self.session_file):
                os.unlink(self.session_file)
        except (IOError, OSError):
            pass

    def _save(self):
        if not self.session_file:
            return
        directory = os.path.dirname(self.session_file)
        try:
            if directory and not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            tmp = "%s.%d" % (self.session_file, os.getpid())
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(self.cookies, fh)
            os.rename(tmp, self.session_file)
        except (IOError, OSError):
            pass  # a cache only: without it every run logs in again

    def forget(self):
        self.cookies = {}
        self._save()

    def cookie(self, name):
        return self.cookies.get(name)

    def _take_cookies(self, headers):
        changed = False
        for value in (headers.get_all("Set-Cookie") or []) if headers is not None else []:
            pair = value.split(";", 1)[0]
            if "=" in pair:
                name, val = pair.split("=", 1)
                if name.strip() in SESSION_COOKIES and COOKIE_VALUE.match(val.strip()):
                    self.cookies[name.strip()] = val.strip()
                    changed = True
        if changed:
            self._save()

    def post(self, url, body, headers):
        """(status, body text); raises for network failures."""
        from ansible.module_utils.six.moves.urllib.error import HTTPError
        headers = dict(headers)
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in sorted(self.cookies.items()))
        try:
            # the RPC endpoint is the backend itself: a redirect is an answer, never followed
            resp = self.open_url(url, data=body, headers=headers, method="POST",
                                 timeout=socket_timeout(self.timeout, self.deadline),
                                 validate_certs=self.validate_certs, use_proxy=False, follow_redirects="none")
            self._take_cookies(resp.headers)
            return resp.getcode(), read_bounded(resp, self.deadline)
        except HTTPError as exc:
            self._take_cookies(exc.headers)
            return exc.code, read_bounded(exc, self.deadline)


def read_bounded(resp, deadline=None, limit=MAX_BODY):
    """A reply's body, read in pieces: refused when larger than `limit` or still arriving at
    `deadline` (a socket timeout bounds each read, not a reply that trickles in). read1 takes
    what has arrived, so the deadline is checked between the pieces of a slow reply; read() would
    wait for all 64 KiB of a piece."""
    read = getattr(resp, "read1", None) or resp.read
    chunks, size = [], 0
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise RpcError("the backend's reply was still arriving when the time for this run was up",
                           kind="unreachable")
        piece = read(65536)
        if not piece:
            break
        size += len(piece)
        if size > limit:
            raise RpcError("the backend's reply is larger than %d bytes" % limit, kind="protocol")
        chunks.append(piece)
    if (getattr(resp, "length", None) or 0) > 0:   # the connection closed before Content-Length was read
        raise RpcError("the backend's reply was cut short (%d bytes missing)" % resp.length, kind="unreachable")
    return b"".join(chunks).decode("utf-8", "replace")


class RpcClient:
    def __init__(self, url=DEFAULT_URL, password=None, totp_code=None, transport=None, retries=3,
                 retry_delay=1.0, rate_limit_retries=2, rate_limit_delay=15.0, sleep=None, budget=None):
        self.url = url
        self.password = password
        self.totp_code = totp_code
        self.transport = transport or Transport()
        self.retries = retries
        self.retry_delay = retry_delay
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_delay = rate_limit_delay
        self.sleep = sleep or time.sleep   # looked up when built: a test can speed the back-offs up
        # One deadline for the whole run: no call, retry or back-off outlasts it.
        self.deadline = time.monotonic() + budget if budget else None
        if hasattr(self.transport, "deadline"):
            self.transport.deadline = self.deadline
        # a cached session is tried first; a 401 then leads to one fresh login
        self.logged_in = bool(self.transport.cookie("session"))
        self.calls = []  # audit trail: [{"method", "status"}], no parameters (they may hold secrets)

    # --- one HTTP exchange, with bounded retries on connection errors ---
    def _wait(self, delay, method):
        """Sleep before a retry, unless that would pass the run's deadline."""
        if self.deadline is not None and time.monotonic() + delay > self.deadline:
            raise RpcError("%s on %s: no time left in this run for another attempt (the deadline is the module's "
                           "timeout x attempts); raise timeout or retries" % (method, self.url),
                           method=method, url=self.url, kind="unreachable")
        self.sleep(delay)

    def _post(self, method, params):
        body = json.dumps({"method": method, "params": params or {}}).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"}
        csrf = self.transport.cookie("csrf_token")
        if csrf and method not in UNAUTHENTICATED:
            headers["X-CSRF-Token"] = csrf
        delays = backoff_delays(self.retries, self.retry_delay)
        attempt = 0
        while True:
            last = None
            try:
                status, text = self.transport.post(self.url, body, headers)
                self.calls.append({"method": method, "status": status})
                if 300 <= status < 400:
                    raise RpcError("%s on %s answered a redirect (HTTP %d), which is not followed: url must be "
                                   "the backend's RPC endpoint itself (http://127.0.0.1:5678/rpc/v1 on a node)"
                                   % (method, self.url, status), method=method, url=self.url, status=status,
                                   kind="protocol")
                return status, text
            except RpcError:
                raise
            except http.client.HTTPException as exc:
                if not isinstance(exc, http.client.RemoteDisconnected):   # that one is a restart: retried
                    self.calls.append({"method": method, "status": None})
                    raise RpcError("%s on %s: what answered is not HTTP (%s: %r); check that url names the "
                                   "backend's RPC port (5678 on a node)"
                                   % (method, self.url, type(exc).__name__, str(exc)[:60]),
                                   method=method, url=self.url, kind="protocol")
                last = exc
            except Exception as exc:  # URLError, socket errors, timeouts
                last = exc
            if last is not None:
                self.calls.append({"method": method, "status": None})
                if attempt >= len(delays):
                    raise RpcError(
                        "%s on %s failed: the backend did not answer after %d attempts (%s); check that "
                        "archipelago.service is running and the URL is right"
                        % (method, self.url, attempt + 1, str(last)[:200] or type(last).__name__),
                        method=method, url=self.url, kind="unreachable")
                self._wait(delays[attempt], method)
                attempt += 1

    def login(self):
        if not self.password:
            raise RpcError("%s needs a session but no password was given (password or password_file)" % self.url,
                           url=self.url, kind="auth")
        delays = backoff_delays(self.rate_limit_retries, self.rate_limit_delay, cap=60.0)
        status, text = self._post("auth.login", {"password": self.password})
        for delay in delays:
            if status != 429:
                break
            self._wait(delay, "auth.login")
            status, text = self._post("auth.login", {"password": self.password})
        if status == 429:
            raise RpcError("auth.login on %s refused: too many login attempts (HTTP 429) after %d retries; "
                           "wait a minute" % (self.url, len(delays)),
                           method="auth.login", url=self.url, status=429, kind="rate_limited")
        result, error = parse_envelope(status, text, "auth.login", self.url)
        if error is not None:
            raise RpcError("auth.login on %s refused: %s (check the password)" % (self.url, error.get("message")),
                           method="auth.login", url=self.url, status=status, kind="auth")
        if isinstance(result, dict) and result.get("requires_totp"):
            if not self.totp_code:
                raise RpcError("auth.login on %s needs a TOTP code (totp_code)" % self.url,
                               method="auth.login", url=self.url, kind="auth")
            status, text = self._post("auth.login.totp", {"code": self.totp_code})
            result, error = parse_envelope(status, text, "auth.login.totp", self.url)
            if error is not None:
                raise RpcError("auth.login.totp on %s refused: %s" % (self.url, error.get("message")),
                               method="auth.login.totp", url=self.url, kind="auth")
        self.logged_in = True

    def call(self, method, params=None):
        """The result of `method`; RpcError with an actionable message otherwise."""
        if method not in UNAUTHENTICATED and not self.logged_in:
            self.login()
        relogged = False
        rate_delays = backoff_delays(self.rate_limit_retries, self.rate_limit_delay, cap=60.0)
        rate_attempt = 0
        while True:
            status, text = self._post(method, params)
            if status in (401, 403) and method not in UNAUTHENTICATED and not relogged:
                # an expired or foreign cached session: log in once more
                relogged = True
                self.logged_in = False
                if hasattr(self.transport, "forget"):
                    self.transport.forget()
                self.login()
                continue
            if status == 429:
                if rate_attempt < len(rate_delays):
                    self._wait(rate_delays[rate_attempt], method)
                    rate_attempt += 1
                    continue
                raise RpcError("%s on %s refused: rate limited (HTTP 429) after %d retries; wait and run again"
                               % (method, self.url, rate_attempt), method=method, url=self.url, status=429,
                               kind="rate_limited")
            if status == 401:
                raise RpcError("%s on %s refused: not authenticated even after logging in again" % (method, self.url),
                               method=method, url=self.url, status=401, kind="auth")
            if status == 403:
                raise RpcError("%s on %s refused: CSRF or origin check failed (HTTP 403)" % (method, self.url),
                               method=method, url=self.url, status=403, kind="auth")
            result, error = parse_envelope(status, text, method, self.url)
            if error is not None:
                raise RpcError("%s on %s refused: %s" % (method, self.url, error.get("message") or "unknown error"),
                               method=method, url=self.url, status=status, code=error.get("code"), kind="refused")
            if status >= 400:
                raise RpcError("%s on %s failed with HTTP %s" % (method, self.url, status),
                               method=method, url=self.url, status=status, kind="protocol")
            return result

    def call_dict(self, method, params=None, keys=()):
        """call(), whose result must be an object (null: {}) with text `keys`."""
        return dict_reply(self.call(method, params), method, self.url, keys)

    def call_list(self, method, params=None, keys=(), numbers=()):
        """call(), whose result must be a list of objects (null: []) with text `keys` and numeric `numbers`."""
        return list_reply(self.call(method, params), method, self.url, keys, numbers)


def read_password(password=None, password_file=None):
    """The password from a value or from a file on the node (first line, stripped). Only a
    regular file of at most MAX_PASSWORD_FILE bytes of UTF-8 is read: a FIFO, a device or a huge
    file is refused before it could block or fill memory."""
    if password:
        return password
    if password_file:
        if "\x00" in password_file:
            raise RpcError("password_file must be a path without NUL characters", kind="usage")
        try:
            fd = os.open(password_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        except (IOError, OSError) as exc:
            raise RpcError("cannot read password_file %s: %s" % (password_file, exc.strerror or exc), kind="auth")
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise RpcError("password_file %s is not a regular file" % password_file, kind="usage")
            if info.st_size > MAX_PASSWORD_FILE:
                raise RpcError("password_file %s is larger than %d bytes; it should hold the password on its first line"
                               % (password_file, MAX_PASSWORD_FILE), kind="usage")
            raw = os.read(fd, MAX_PASSWORD_FILE + 1)
        finally:
            os.close(fd)
        try:
            value = raw.decode("utf-8").splitlines()[0].strip() if raw.strip() else ""
        except UnicodeDecodeError:
            raise RpcError("password_file %s is not UTF-8 text" % password_file, kind="usage")
        if not value:
            raise RpcError("password_file %s is empty" % password_file, kind="auth")
        return value
    return None


def check_limits(timeout, retries):
    """timeout (s, per exchange) and retries within what a run can honour."""
    if not 1 <= timeout <= TIMEOUT_MAX:
        raise RpcError("timeout must be from 1 to %d seconds, not %s" % (TIMEOUT_MAX, timeout), kind="usage")
    if not 0 <= retries <= RETRIES_MAX:
        raise RpcError("retries must be from 0 to %d, not %s" % (RETRIES_MAX, retries), kind="usage")


def rpc_argument_spec():
    """The options every module that talks to the backend takes."""
    return dict(
        url=dict(type="str", default=DEFAULT_URL),
        password=dict(type="str", no_log=True),
        password_file=dict(type="path", no_log=False),  # a path, not the secret
        totp_code=dict(type="str", no_log=True),
        timeout=dict(type="int", default=10),
        retries=dict(type="int", default=3),
        validate_certs=dict(type="bool", default=True),
        session_cache=dict(type="bool", default=True),
        session_dir=dict(type="path", default="/run/archipelago-ansible"),
    )


def session_file_for(session_dir, url, password):
    """Where the session for (url, password) is cached: a name that reveals neither."""
    key = hashlib.sha256(("%s\n%s" % (url, password or "")).encode("utf-8")).hexdigest()[:24]
    return os.path.join(session_dir, "session-%s.json" % key)


def check_session_dir(path):
    if not isinstance(path, str) or not path.startswith("/") or any(ord(c) < 32 for c in path):
        raise RpcError("session_dir must be an absolute path without control characters", kind="usage")


def client_from_module(module):
    """The client for the module's options; timeout and retries are checked by the caller
    (common.run) before the run's deadline is set from them."""
    p = module.params
    check_url(p["url"])
    if p.get("session_cache"):
        check_session_dir(p["session_dir"])
    password = read_password(p.get("password"), p.get("password_file"))
    if password:
        module.no_log_values.add(password)   # read from a file: masked in every output too
    session_file = session_file_for(p["session_dir"], p["url"], password) if p.get("session_cache") else None
    # One deadline per run: every exchange (each up to `timeout`) and every back-off fit in it.
    budget = deadlines.budget_for(p["timeout"], p["retries"])
    return RpcClient(url=p["url"], password=password, totp_code=p.get("totp_code"),
                     transport=Transport(timeout=p["timeout"], validate_certs=p["validate_certs"],
                                         session_file=session_file),
                     retries=p["retries"], budget=budget)
