"""Property-based fuzzing (hypothesis) of the collection's modules as a task would run them: any
arguments (drawn from each module's own argument_spec, good and hostile values mixed) against a
hostile backend and relay on a real loopback socket that answer anything (wrong types, deep
nesting, redirects, garbage status lines, bodies cut short). Each run must end in
exit_json or fail_json with a message (never a traceback), within its deadline, with no secret
in its output; and in check mode it must change nothing: no state-changing RPC method, no relay
PUT, no file under the node's tree.

ARCHY_FUZZ_MODULE_EXAMPLES runs per module (default 60 in CI); bench/fuzz.sh runs more.
Counts go to ARCHY_FUZZ_STATS beside test_fuzz.py's.
"""
import collections
import hashlib
import http.server
import json
import os
import shutil
import stat
import tempfile
import threading
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import bep44, deadline as deadlines, did_dht as dd, dht_codec, dwn_protocols, vc
from ansible_collections.archipelago.node.tests.unit.plugins.module_utils.hostile_peer import report_stats, run_module
from ansible_collections.archipelago.node.tests.unit.plugins.module_utils.test_module_logic import make_code

EXAMPLES = int(os.environ.get("ARCHY_FUZZ_MODULE_EXAMPLES", "60"))
# without shrinking (ARCHY_FUZZ_SHRINK=1 turns it on), a failure is reported at once with the drawn example
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if os.environ.get("ARCHY_FUZZ_SHRINK") else [])
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("ARCHY_FUZZ_RANDOM"),
                phases=PHASES, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
RUN_MAX_S = 10.0
SECRET = "pw-Modfuzz-7d41b0"
STATS = collections.Counter()
OUTCOMES = collections.Counter()   # (module, check mode, ok/failed): shown when ARCHY_FUZZ_STATS is set
MODULES = ["backend_health", "backup", "backup_info", "credential", "credential_info", "did_dht", "did_dht_info",
           "dwn_protocol", "federation_info", "presentation",
           "federation_invite", "federation_join", "federation_sync", "node_files", "node_identity_info",
           "nostr_identity"]
# what a module may ask in check mode; anything else changes the node
# (backup.verify decrypts a backup to check it and changes nothing: backup_info calls it)
READ_METHODS = frozenset(["health", "auth.login", "auth.login.totp", "node.did", "node.nostr-pubkey",
                          "federation.list-nodes", "federation.get-state", "backup.list", "backup.verify",
                          "dwn.list-protocols", "tor.list-services"])


report_stats(STATS)

# ---------- the hostile peer: a JSON-RPC backend and a Pkarr relay in one server ----------

KEY = Ed25519PrivateKey.generate()
DID = dht_codec.did_from_public(bep44.public_bytes(KEY))
Z32 = DID[len(dd.DID_PREFIX):]


class Peer(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, body, cookies=()):
        if status == RAW:   # not HTTP, or HTTP cut short: the bytes as drawn, then the connection closes
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for c in cookies:
            self.send_header("Set-Cookie", c)
        if 300 <= status < 400:
            self.send_header("Location", "file:///etc/shadow")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            method = json.loads(raw).get("method")
        except (ValueError, AttributeError):
            method = None
        self.server.seen.append(method)
        plan = self.server.plan
        if method == "auth.login" and "auth.login" not in plan:
            self._reply(200, b'{"result": {"ok": true}, "error": null}', ["session=s1; Path=/", "csrf_token=c1"])
            return
        status, body = plan.get(method, plan.get("*", (200, b'{"result": null, "error": null}')))
        self._reply(status, body)

    def do_GET(self):
        self.server.seen.append("GET")
        status, body = self.server.plan.get("GET", (404, b""))
        self._reply(status, body)

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append("PUT")
        self._reply(self.server.plan.get("PUT", 200), b"")


@pytest.fixture(scope="module")
def peer():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    server.daemon_threads = True
    server.plan, server.seen = {}, []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def files():
    """Files a task may name: good ones, and the kinds that must be refused without reading."""
    root = tempfile.mkdtemp(prefix="archy-modfuzz-")
    pem = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    made = {}
    for name, data, mode in (("secret", SECRET + "\n", 0o600), ("secret_open", SECRET + "\n", 0o644),
                             ("binary", b"\xff\xfe" + SECRET.encode(), 0o600), ("empty", b"", 0o600),
                             ("key", pem, 0o600), ("key_open", pem, 0o644),
                             ("key_hex", KEY.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                           serialization.NoEncryption()).hex(), 0o600),
                             ("garbage", SECRET * 50, 0o600)):
        path = os.path.join(root, name)
        with open(path, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)
        made[name] = path
    made["fifo"] = os.path.join(root, "fifo")
    os.mkfifo(made["fifo"], 0o600)
    made["dir"] = root
    made["missing"] = os.path.join(root, "missing")
    made["sessions"] = os.path.join(root, "sessions")
    yield made
    shutil.rmtree(root)


OPTIONS = {"services": [], "keys": [], "controllers": [], "also_known_as": [], "types": [], "gateways": []}


def own_credential():
    """A credential KEY issued about its own DID, valid for a day."""
    now = int(time.time())
    return vc.issue(KEY, DID, DID, ["FuzzCredential"], {"n": 1}, now, now + 86400)


def valid_body(seq=None):
    """A body a relay would serve for KEY: its signed did:dht record (at `seq`, default now)."""
    packet = dd.desired_state(bep44.public_bytes(KEY), "present", OPTIONS)[1]
    return bep44.sign_packet(KEY, int(time.time()) if seq is None else seq, packet)[1]


# ---------- strategies ----------

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
REPLY_KEYS = ["did", "pubkey", "trust_level", "last_seen", "id", "created_at", "label", "code", "invite_id",
              "expires_at", "synced", "failed", "nostr_pubkey", "nostr_npub", "revocation_marker", "present", "empty",
              "revoked_pubkey", "status", "version", "name", "error", "apps", "revoked", "requires_totp", "ok"]
PLAUSIBLE = st.sampled_from(["trusted", "observer", DID, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                             "a" * 64, 1700000000, 1, True, False, None, "ok", "b1", SECRET, [], {}])
VALUE = st.one_of(PLAUSIBLE, JSON)
OBJECT = st.dictionaries(st.sampled_from(REPLY_KEYS), st.one_of(VALUE, st.lists(
    st.dictionaries(st.sampled_from(REPLY_KEYS), VALUE, max_size=5), max_size=3)), max_size=6)
RESULT = st.one_of(OBJECT, st.lists(OBJECT, max_size=4), JSON)
ENVELOPE = st.one_of(
    st.builds(lambda r: json.dumps({"result": r, "error": None}), RESULT),
    st.builds(lambda e: json.dumps({"result": None, "error": e}), st.one_of(JSON, st.fixed_dictionaries(
        {"code": st.integers(-33000, 0), "message": st.one_of(st.text(max_size=40), st.just("echo " + SECRET))}))),
    st.text(max_size=60), st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
).map(lambda text: text.encode("utf-8", "surrogatepass"))
RAW = 0   # an answer that is written as it is, without an HTTP status line of the server's
BROKEN_HTTP = st.tuples(st.just(RAW), st.sampled_from([
    b"", b"HTTP/1.1 abc\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}", b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]))
ANSWER = st.one_of(st.tuples(st.sampled_from([200] * 8 + [401, 403, 404, 429, 500, 302]), ENVELOPE), BROKEN_HTTP)
METHODS = sorted(READ_METHODS | {"backup.create", "backup.delete", "backup.verify", "federation.join",
                                 "federation.invite", "federation.sync-state", "identity.clear-nostr-revocation",
                                 "identity.create-nostr-key", "dwn.register-protocol", "*"})
RELAY_GET = st.one_of(st.tuples(st.sampled_from([200, 404, 500, 429, 301, 204]), st.binary(max_size=200)), BROKEN_HTTP,
                      st.builds(lambda s, b: (s, b), st.just(200), st.builds(valid_body)),
                      st.builds(lambda s, b: (s, b), st.just(200), st.builds(valid_body, st.just(2 ** 64 - 1))))
EDGE_INTS = st.one_of(st.sampled_from([0, 1, 2, -1, 3, 10, 11, 60, 300, 301, 3600, 10 ** 9, 2 ** 63, -2 ** 63]),
                      st.integers(-2 ** 70, 2 ** 70))
EDGE_FLOATS = st.one_of(st.sampled_from([0.0, 0.1, 1.0, 2.0, -1.0, 1e308, float("nan"), float("inf")]),
                        st.floats())
# text for options that are not secrets (the secret goes only into no_log options and secret files)
HOSTILE_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "a\x00b", "x" * 5000, "\r\nX: y",
                                                                "ünïcødé", "%s", "{{ x }}"]))
NAMES = st.sampled_from(["a", "b", "sub/c", ".hidden", "x y", "unit.service", "env"])


# ---------- the tame half: a task as an operator writes it, and a backend that mostly answers well ----------

PEER_KEY = Ed25519PrivateKey.generate()
PEER_DID = make_code(PEER_KEY)[1]["did"]     # the inviter of invite_code(), listed as trusted after the join
GOOD = {
    "health": {"status": "ok", "version": "1.9.1"},
    "node.did": {"did": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH", "pubkey": "a" * 64},
    "node.nostr-pubkey": {"nostr_pubkey": "a" * 64, "nostr_npub": "npub1x", "revocation_marker": None},
    "federation.list-nodes": [{"did": PEER_DID, "trust_level": "trusted", "name": "arch2", "last_seen": 1700000000}],
    "federation.get-state": {"nodes": 1},
    "federation.invite": {"code": "archy1.e30.e30", "invite_id": "i1", "expires_at": 1700000000},
    "federation.join": {"ok": True},
    "federation.sync-state": {"synced": [{"did": PEER_DID, "name": "arch2", "apps": []}], "failed": []},
    "backup.list": [{"id": "b1", "created_at": 1700000000, "label": "nightly"}],
    "backup.create": {"id": "b2", "created_at": 1700000001},
    "backup.verify": {"ok": True},
    "backup.delete": {"ok": True},
    "identity.clear-nostr-revocation": {"ok": True},
    "identity.create-nostr-key": {"ok": True},
    # every Archipelago protocol already registered: a tame dwn_protocol run keeps them
    "dwn.list-protocols": [{"protocol": d["protocol"], "definition": d} for d in dwn_protocols.definitions()],
    "dwn.register-protocol": {"protocol": "https://archipelago.example/dwn/node-identity/v1", "registered": True},
}
GOOD_PLAN = dict((m, (200, json.dumps({"result": r, "error": None}).encode())) for m, r in GOOD.items())


def invite_code():
    """A genuine invite from PEER_KEY, so that federation_join gets past its signature check."""
    return make_code(PEER_KEY)[0]


def tame_value(name, opt, ctx, draw):
    """A value an operator would write, or None to leave the option out."""
    peer, files = ctx["peer"], ctx["files"]
    tame = {
        "url": st.just(peer.url + "/rpc/v1"), "password": st.just(SECRET), "session_dir": st.just(files["sessions"]),
        "password_file": st.just(None), "totp_code": st.just(None), "timeout": st.sampled_from([None, 2, 5]),
        "retries": st.sampled_from([None, 0, 1]), "passphrase": st.just(SECRET + " long enough"),
        "code": st.builds(invite_code), "relays": st.just([peer.url + "/"]), "key_file": st.just(files["key"]),
        "did": st.sampled_from([None, DID if ctx["module"].startswith("did_dht") else PEER_DID]),
        "id": st.sampled_from([None, "b1", "b9"]), "refresh_interval": st.sampled_from([None, 60, 86400]),
        "interval": st.sampled_from([None, 0.5]), "version": st.sampled_from([None, "1.9.1", "2.0.0"]),
        # the credential modules: a credential of KEY about its own DID, which the relay's record verifies
        "credential": st.builds(own_credential), "credentials": st.builds(lambda: [own_credential()]),
        "presentation": st.just(None), "credential_files": st.just([]), "subject": st.just(DID),
        "valid_for": st.sampled_from([None, 400 * 86400]), "renew_before": st.sampled_from([None, 0, 3600]),
        "expires_in": st.sampled_from([None, 600]), "max_age": st.sampled_from([None, 0]),
    }
    if name in tame:
        return draw(tame[name])
    if opt.get("choices"):
        return draw(st.sampled_from(opt["choices"]))
    kind = opt.get("type", "str")
    if kind == "bool":
        return draw(st.booleans())
    if kind == "int":
        return draw(st.sampled_from([None, 0, 1, 2, 3600]))
    return None


def option_value(name, opt, ctx, draw):
    """One drawn value for option `name` of spec `opt`; the context names the peer, the files
    and the node tree of this run."""
    kind = opt.get("type", "str")
    peer, files, tree = ctx["peer"], ctx["files"], ctx["tree"]
    special = {
        "url": st.sampled_from([peer.url + "/rpc/v1"] * 6 + [
            "", "rpc", "ftp://127.0.0.1/", "file:///etc/shadow", "http://u:%s@127.0.0.1/rpc/v1" % SECRET,
            "http://127.0.0.1:1/rpc/v1", "http://[::1", "http://127.0.0.1/\r\nX: y", "data:,x"]),
        "password": st.sampled_from([SECRET, SECRET, "", None]),
        "totp_code": st.sampled_from([None, "123456", SECRET]),
        "passphrase": st.sampled_from([None, SECRET + " long enough", "short", SECRET]),
        "code": st.one_of(st.sampled_from(["archy1.%s.%s" % (SECRET, SECRET), SECRET, "archy1." + "A" * 5000 + ".x"]),
                          HOSTILE_TEXT.map(lambda t: "archy1.%s.%s" % (t, SECRET))),
        "password_file": st.sampled_from([None, files["secret"], files["secret_open"], files["binary"], files["empty"],
                                          files["fifo"], files["dir"], files["missing"], "/dev/zero", "rel/x",
                                          "a\x00b"]),
        "key_file": st.sampled_from([files["key"], files["key"], files["key_open"], files["key_hex"], files["garbage"],
                                     files["fifo"], files["dir"], files["missing"], "/dev/zero", files["secret"]]),
        "session_dir": st.sampled_from([files["sessions"], files["sessions"], files["secret"], "rel/x", "a\x00b",
                                        os.path.join(files["dir"], "missing", "deeper")]),
        "relays": st.lists(st.sampled_from([peer.url + "/", peer.url + "/gw/", "http://[::1", "ftp://x/",
                                            "http://u:%s@h/" % SECRET, "http://127.0.0.1:1/", "", "x" * 3000,
                                            # Nostr relays: the peer speaks HTTP, not WebSocket
                                            "ws" + peer.url[4:] + "/", "ws://127.0.0.1:1/", "wss://u:%s@h/" % SECRET]),
                           max_size=3),
        "did": st.sampled_from([None, DID, DID + "x", "did:dht:", "did:key:z6Mk", "did:dht:" + "y" * 52]),
        "path": st.one_of(NAMES.map(lambda n: os.path.join(tree, n)), st.sampled_from(["rel", "", tree])),
        "validate": st.sampled_from([None, "true %s", "false %s", "test -s %s", "no-percent-sign", "",
                                     "sh -c 'echo %s >&2; exit 3' %s", "sh -c 'unbalanced %s"]),
        "owner": st.sampled_from([None, "root", "nobody", "no-such-user-x", "0"]),
        "group": st.sampled_from([None, "root", "nogroup", "no-such-group-x", "0"]),
        "mode": st.sampled_from([None, "0644", "0600", "0755", "abc", 420, "u+rwx", 4095, -1, "07777"]),
        "timeout": EDGE_FLOATS if kind == "float" else EDGE_INTS,
    }
    if name == "content" and ctx.get("secret_content"):
        return draw(HOSTILE_TEXT.map(lambda t: SECRET + t))
    if name in special:
        return draw(special[name])
    if opt.get("choices"):
        return draw(st.one_of(st.sampled_from(opt["choices"]), st.sampled_from(opt["choices"]), HOSTILE_TEXT))
    if kind == "int":
        return draw(EDGE_INTS)
    if kind == "float":
        return draw(EDGE_FLOATS)
    if kind == "bool":
        return draw(st.booleans())
    if kind == "list" and opt.get("options"):
        inner = dict(ctx, secret_content=name == "secret_files")
        return [options_value(opt["options"], inner, draw) for dummy in range(draw(st.integers(0, 3)))]
    if kind == "list" and opt.get("elements") == "int":
        return draw(st.lists(EDGE_INTS, max_size=4))
    if kind == "list":
        return draw(st.lists(HOSTILE_TEXT, max_size=4))
    if kind == "dict" and opt.get("options"):
        return draw(st.one_of(st.builds(lambda: None), st.just({}))) if draw(st.integers(0, 4)) == 0 \
            else options_value(opt["options"], ctx, draw)
    if kind == "dict":
        return draw(st.dictionaries(st.text(max_size=8), JSON, max_size=4))
    if kind == "raw":
        return draw(JSON)
    return draw(HOSTILE_TEXT)


def options_value(spec, ctx, draw):
    args = {}
    for name, opt in sorted(spec.items()):
        if ctx.get("tame") and opt.get("type") == "list" and opt.get("options"):
            if name in ("files", "secret_files", "directories"):   # node_files' own lists: the point of it
                args[name] = option_value(name, opt, ctx, draw)
        elif ctx.get("tame") and name != "path":
            value = tame_value(name, opt, ctx, draw)
            if value is not None or opt.get("required"):
                args[name] = value if value is not None else option_value(name, opt, ctx, draw)
        elif opt.get("required") or draw(st.integers(0, 2)) > 0:
            args[name] = option_value(name, opt, ctx, draw)
    return args


# ---------- the modules ----------

SPECS = {}


def spec_of(name):
    """The module's argument_spec, as it passes it to AnsibleModule."""
    if name not in SPECS:
        import importlib
        module = importlib.import_module("ansible_collections.archipelago.node.plugins.modules." + name)

        class Caught(Exception):
            pass

        def capture(*args, **kwargs):
            SPECS[name] = kwargs["argument_spec"]
            raise Caught()
        cls = "NodeModule" if hasattr(module, "NodeModule") else "AnsibleModule"
        real = getattr(module, cls)
        setattr(module, cls, capture)
        try:
            module.main()
        except Caught:
            pass
        finally:
            setattr(module, cls, real)
    return SPECS[name]


def tree_state(root):
    """Every path under root with its kind, mode, owner and content digest."""
    state = {}
    for base, dirs, names in os.walk(root):
        for n in dirs + names:
            path = os.path.join(base, n)
            info = os.lstat(path)
            digest = None
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            state[path] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, digest)
    return state


class VirtualClock:
    """Time that sleeps advance at once: back-offs and waits cost nothing, and every deadline
    still holds (checked against this clock), while real time catches a loop that never ends."""

    def __init__(self):
        self.offset = 0.0
        self.real = time.monotonic

    def monotonic(self):
        return self.real() + self.offset

    def sleep(self, seconds):
        self.offset += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch):
    virtual = VirtualClock()
    monkeypatch.setattr(time, "monotonic", virtual.monotonic)
    monkeypatch.setattr(time, "sleep", virtual.sleep)
    return virtual


def allowed_s(name, args):
    """How long a run may take by its documentation (the options' own bounds; invalid ones fail at once)."""
    try:
        if name == "backend_health":
            return min(max(float(args.get("timeout", 60)), 0), 3600) + 5 + deadlines.BACKSTOP_S
        if name == "node_files":
            return RUN_MAX_S
        timeout = min(max(int(args.get("timeout", 10)), 1), 300)
        return deadlines.budget_for(timeout, min(max(int(args.get("retries", 3)), 0), 10)) + deadlines.BACKSTOP_S
    except (TypeError, ValueError, OverflowError):
        return RUN_MAX_S


@pytest.mark.parametrize("name", MODULES)
def test_any_task_of_a_module_ends_cleanly_and_changes_nothing_in_check_mode(name, peer, files, clock):
    spec = spec_of(name)

    @FUZZ
    @given(st.data())
    def one_run(data):
        tree = tempfile.mkdtemp(prefix="archy-node-", dir=files["dir"])
        try:
            os.mkdir(os.path.join(tree, "sub"))
            with open(os.path.join(tree, "env"), "w") as fh:
                fh.write("A=1\n")
            tame = data.draw(st.booleans(), label="tame")
            ctx = {"peer": peer, "files": files, "tree": tree, "tame": tame, "module": name}
            args = options_value(spec, ctx, data.draw)
            check = data.draw(st.booleans(), label="check_mode")
            plan = data.draw(st.dictionaries(st.sampled_from(METHODS), ANSWER, max_size=2 if tame else 6),
                             label="backend")
            if tame:   # the backend answers well, but for the few methods drawn above
                plan = dict(GOOD_PLAN, **plan)
            if "relays" in spec:
                plan["GET"] = data.draw(st.one_of(st.builds(lambda b: (200, b), st.builds(valid_body)), RELAY_GET)
                                        if tame else RELAY_GET, label="relay GET")
                plan["PUT"] = data.draw(st.sampled_from([200, 204, 400, 409, 500, 302]), label="relay PUT")
            peer.plan, peer.seen = plan, []
            before = tree_state(tree)
            STATS["module_runs"] += 1
            started, virtual_start = clock.real(), clock.monotonic()
            try:
                rc, result, text = run_module(name, args, check=check, diff=data.draw(st.booleans(), label="diff"))
            except Exception as exc:  # pylint: disable=broad-except
                STATS["crashes"] += 1
                raise AssertionError("%s raised %s: %s" % (name, type(exc).__name__, exc))
            took, virtual = clock.real() - started, clock.monotonic() - virtual_start
            # backend_health asks every interval until its timeout: its real time is bounded by that too
            real_max = max(RUN_MAX_S, allowed_s(name, args)) if name == "backend_health" else RUN_MAX_S
            if took > real_max or virtual > allowed_s(name, args) + 1:
                STATS["hangs"] += 1
                raise AssertionError("%s ran %.1f s (%.1f s with its waits; it may take %.1f s)"
                                     % (name, took, virtual, allowed_s(name, args)))
            # the run holds the secret when a task gives it or names a file holding it; the
            # backend's echo of it in a run that never held it is only the backend's data
            held = SECRET in json.dumps(args, default=str) or any(
                args.get(k) in (files["secret"], files["secret_open"], files["binary"], files["garbage"])
                for k in ("password_file", "key_file"))
            if held and SECRET in text:
                STATS["leaks"] += 1
                at = text.index(SECRET)
                raise AssertionError("%s printed the secret: ...%s..." % (name, text[max(0, at - 300):at + 60]))
            assert rc in (0, 1) and "Traceback" not in text, text[:600]
            OUTCOMES[(check, "failed" if rc else "ok")] += 1
            STATS["%s %s" % (name, "failed" if rc else "ok")] += 1
            if os.environ.get("ARCHY_FUZZ_SHOW") and tame and rc:
                print("FAILED (tame) %s %s" % (name, result.get("msg", "")[:300]))
            if rc:
                assert isinstance(result.get("msg"), str) and result["msg"].strip(), result
            if check:
                writes = [m for m in peer.seen if m not in READ_METHODS and m != "GET"]
                if writes or tree_state(tree) != before:
                    STATS["check_mode_writes"] += 1
                    raise AssertionError("%s in check mode sent %s / changed %s" % (
                        name, writes, sorted(set(tree_state(tree).items()) ^ set(before.items()))[:4]))
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    OUTCOMES.clear()
    one_run()
    # the runs reached the modules' work, not only their refusals: some succeeded, in check mode and not
    assert OUTCOMES[(True, "ok")] and OUTCOMES[(False, "ok")], dict(OUTCOMES)
