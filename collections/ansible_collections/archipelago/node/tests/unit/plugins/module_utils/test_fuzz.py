"""Property-based fuzzing (hypothesis) of everything the modules take from outside: invite codes,
backend replies, relay answers, DNS packets, relay bodies, JWKs, URLs. For any input the code
under test returns or raises its own error (RpcError, InviteError, DidDhtError, RelayError),
never anything else; it finishes within the deadline (2 s of CPU); and no secret it holds appears
in what it raises or returns.

The budget is ARCHY_FUZZ_EXAMPLES examples per property (default 1000: under a minute for all in
CI); bench/fuzz.sh runs many more and prints what was tried and found. With ARCHY_FUZZ_STATS set
to a file, the counts (cases, crashes, hangs, leaks) are written there at the end.
"""
import collections
import gc
import json
import os
import time

from hypothesis import HealthCheck, given, settings, strategies as st
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import bep44, did_dht as dd, dht_codec, dht_keys, dns_wire
from ansible_collections.archipelago.node.plugins.module_utils import invite, pkarr, rpc
from ansible_collections.archipelago.node.tests.unit.plugins.module_utils.hostile_peer import report_stats

EXAMPLES = int(os.environ.get("ARCHY_FUZZ_EXAMPLES", "1000"))
DEADLINE_S = 2.0
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("ARCHY_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECRET = "pw-Fuzz-9f2c1e"
STATS = collections.Counter()


report_stats(STATS)


def guarded(fn, expected, *args):
    """Run fn(*args): its own errors are fine; anything else is a crash, a run past the deadline
    a hang, a secret in the outcome a leak. Returns fn's value or None."""
    STATS["cases"] += 1
    # the collector is paused for the call: a full collection of the objects a long hypothesis
    # session holds took 2.4 s once, inside a 4357-deep JSON parse that takes milliseconds
    gc.disable()
    started, cpu = time.monotonic(), time.process_time()
    value, text = None, ""
    try:
        value = fn(*args)
        text = repr(value)
    except expected as exc:
        text = str(exc) + repr(getattr(exc, "__dict__", {}))
    except Exception as exc:  # pylint: disable=broad-except
        STATS["crashes"] += 1
        raise AssertionError("%s raised %s: %s" % (fn.__name__, type(exc).__name__, exc))
    finally:
        wall, cpu = time.monotonic() - started, time.process_time() - cpu
        gc.enable()
    # a hang is work: CPU time past the deadline (a busy machine that descheduled us is not one),
    # or a wait far past it (nothing here waits on a socket or a clock)
    if cpu > DEADLINE_S or wall > 10 * DEADLINE_S:
        STATS["hangs"] += 1
        raise AssertionError("%s took %.1f s (%.1f s of CPU)" % (fn.__name__, wall, cpu))
    if SECRET in text:
        STATS["leaks"] += 1
        raise AssertionError("%s let the secret through: %s" % (fn.__name__, text[:200]))
    return value


# JSON values of any shape, nesting included (a few levels deep here; depth itself is below).
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)


class ScriptedTransport:
    """A backend that answers each POST with the next drawn (status, body) or exception."""

    def __init__(self, answers):
        self.answers = list(answers)

    def cookie(self, name):
        return None

    def post(self, url, body, headers):
        if not self.answers:
            raise IOError("connection refused")
        step = self.answers.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


BODIES = st.one_of(
    JSON.map(json.dumps),
    st.builds(lambda r, e: json.dumps({"result": r, "error": e}), JSON, JSON),
    st.builds(lambda r: json.dumps({"result": r, "error": None}), JSON),
    st.text(max_size=200),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.just(json.dumps({"result": {"echo": SECRET}, "error": None})),
)
ANSWERS = st.lists(st.one_of(st.tuples(st.sampled_from([200, 200, 200, 401, 403, 429, 500, 502, 302]), BODIES),
                             st.sampled_from([IOError("reset"), ValueError("bad"), OSError("timeout")])),
                   min_size=1, max_size=6)
CALLS = [("node.did", "dict", ("did",)), ("federation.list-nodes", "list", ("did",)),
         ("backup.list", "list", ("id",)), ("node.nostr-pubkey", "raw", ())]


@FUZZ
@given(ANSWERS, st.sampled_from(CALLS))
def test_a_hostile_backend_gives_only_rpc_errors_and_never_the_password(answers, call):
    method, shape, keys = call
    client = rpc.RpcClient("http://127.0.0.1:5678/rpc/v1", password=SECRET, transport=ScriptedTransport(answers),
                           retries=1, rate_limit_retries=1, sleep=lambda s: None, budget=30)

    def run():
        # A result that echoes the password is the backend's data (the module masks it with
        # no_log_values); what is checked for the secret is every error the client raises.
        if shape == "dict":
            client.call_dict(method, keys=keys)
        elif shape == "list":
            client.call_list(method, keys=keys, numbers=("created_at",))
        else:
            client.call(method)
    guarded(run, rpc.RpcError)


@FUZZ
@given(st.integers(0, 999), BODIES)
def test_any_envelope_parses_or_is_an_rpc_error(status, body):
    def parse_envelope(status, body):
        rpc.parse_envelope(status, body)   # a result is the backend's data; its errors are checked
    guarded(parse_envelope, rpc.RpcError, status, body)


@FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=100).map(lambda b: "archy1." + b.hex() + ".x"),
                 st.builds(lambda p, s: "archy1.%s.%s" % (p, s),
                           JSON.map(lambda v: dht_codec.b64u(json.dumps(v).encode())), st.text(max_size=90))))
def test_any_invite_code_reads_or_is_an_invite_error(code):
    guarded(invite.read_invite, invite.InviteError, code)


KEY = Ed25519PrivateKey.generate()


@FUZZ
@given(st.dictionaries(st.sampled_from(["v", "did", "address", "invite_id", "secret", "expires_at", "onion"]),
                       JSON, max_size=7))
def test_any_signed_invite_payload_reads_or_is_an_invite_error(payload):
    raw = json.dumps(payload, separators=(",", ":")).encode()
    code = "archy1.%s.%s" % (dht_codec.b64u(raw), dht_codec.b64u(KEY.sign(raw)))
    guarded(invite.read_invite, invite.InviteError, code)


@FUZZ
@given(st.binary(max_size=1200))
def test_any_packet_decodes_or_is_a_did_dht_error(data):
    guarded(dns_wire.decode_packet, dd.DidDhtError, data)


@FUZZ
@given(st.binary(max_size=1200))
def test_any_relay_body_parses_or_is_a_did_dht_error(data):
    guarded(bep44.parse_relay_body, dd.DidDhtError, data)


PUB = bep44.public_bytes(KEY)
DID = dht_codec.did_from_public(PUB)
NAMES = st.sampled_from(["_did.%s." % DID[len(dd.DID_PREFIX):], "_k0._did.", "_k1._did.", "_s0._did.", "_cnt._did.",
                         "_aka._did.", "_typ._did.", "_prv._did.", "x"])
PROPS = st.sampled_from(["t", "k", "id", "se", "v", "vm", "auth", "asm", "agm", "inv", "del", "c", "a"])
RECORD_TEXT = st.one_of(st.text(max_size=120), st.builds(lambda k, v: "%s=%s" % (k, v), PROPS, st.text(max_size=60)))


@FUZZ
@given(st.lists(st.tuples(NAMES, st.sampled_from(["TXT", "NS"]), RECORD_TEXT), max_size=8))
def test_any_records_map_to_a_document_or_a_did_dht_error(records):
    guarded(dd.document_from_records, dd.DidDhtError, DID, records)


@FUZZ
@given(st.dictionaries(st.sampled_from(["kty", "crv", "x", "y", "alg", "kid"]),
                       st.one_of(st.sampled_from(["EC", "OKP", "Ed25519", "X25519", "secp256k1", "P-256"]),
                                 st.binary(min_size=30, max_size=34).map(dht_codec.b64u), JSON), max_size=6))
def test_any_jwk_is_a_key_or_a_did_dht_error(jwk):
    guarded(dht_keys.key_from_jwk, dd.DidDhtError, jwk)


@FUZZ
@given(st.one_of(st.text(max_size=80), st.builds(lambda s, h, p: "%s://%s%s" % (s, h, p),
                                                 st.sampled_from(["http", "https", "ftp", "HTTP", ""]),
                                                 st.text(max_size=30), st.text(max_size=20))))
def test_any_url_is_checked_or_refused(url):
    guarded(pkarr.check_relay_url, pkarr.RelayError, url)
    guarded(rpc.check_url, rpc.RpcError, url)


@FUZZ
@given(st.lists(st.one_of(st.tuples(st.sampled_from([200, 404, 429, 500, 204, 301]), st.binary(max_size=300)),
                          st.just(IOError("refused"))), min_size=1, max_size=4))
def test_a_hostile_relay_gives_only_did_dht_or_relay_errors(answers):
    queue = list(answers)

    def fetch(method, url, body):
        step = queue.pop(0) if queue else IOError("refused")
        if isinstance(step, Exception):
            raise step
        return step
    relays = pkarr.Relays(fetch, retries=1, base_delay=0, sleep=lambda s: None)
    guarded(dd.resolve, (dd.DidDhtError, pkarr.RelayError), DID, relays, ["http://relay.example/"], time.time())
