# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""did:dht without a network: the DID Document as DNS records and back, and the decision whether
to publish (the policy), on top of dht_codec (identifiers), dns_wire (the RFC 1035 packet, BEP44
`v`), bep44 (signing input, target, relay body) and dht_keys (JWKs, curves).

Pure functions; Ed25519 comes from `cryptography` (python3-cryptography on Debian) and is only
imported by the functions that sign or verify. Everything here is tested against the did:dht
spec vectors, the BEP44 vectors and dnspython's encoder.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


import json
import os
import stat
import time

try:
    import cryptography  # noqa: F401  pylint: disable=unused-import
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

from ansible.module_utils.basic import missing_required_lib as module_missing_lib
from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils.rpc import RpcError, check_limits, mask_url_passwords

from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError
from ansible_collections.archipelago.node.plugins.module_utils.pkarr import RelayError, Relays, check_relay_url, open_url_fetch
from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import (
    DID_PREFIX,
    b64u,
    b64u_decode,
    did_from_public,
    public_from_did,
    z32_encode,
)
from ansible_collections.archipelago.node.plugins.module_utils.bep44 import (
    ed25519_verify,
    load_signing_key,
    public_bytes,
    sign_packet,
    verify_body,
)
from ansible_collections.archipelago.node.plugins.module_utils.dns_wire import MAX_PACKET, TTL, decode_packet, encode_packet
from ansible_collections.archipelago.node.plugins.module_utils.dht_keys import KEY_TYPES, _jwk_thumbprint, jwk_from_key, key_from_jwk

RELATIONS = (("auth", "authentication"), ("asm", "assertionMethod"), ("agm", "keyAgreement"),
             ("inv", "capabilityInvocation"), ("del", "capabilityDelegation"))
IDENTITY_RELATIONS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")


# ---------- DID Document <-> records ----------

def _props(text):
    out = {}
    for part in text.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def records_for(pub, keys=None, services=None, controllers=None, also_known_as=None, types=None,
                gateways=None, previous=None):
    """The did:dht records for an identity key and the options of the module:
    keys [{id?, jwk, purposes, controller?}], services [{id, type, endpoints}], previous
    {did, signature} (the proof that this DID follows another, checked here).

    Every record the root refers to comes before the root record: the spec lets records come in
    any order, but a resolver that reads the packet in one pass (web5's) maps `auth=k0` and the
    like only onto key records it has already read."""
    did = did_from_public(pub)
    root_name = "_did.%s." % did[len(DID_PREFIX):]
    vm, rel = ["k0"], dict((short, []) for short, _long in RELATIONS)
    for short, long_name in RELATIONS:
        if long_name in IDENTITY_RELATIONS:
            rel[short].append("k0")
    key_records = [("_k0._did.", "TXT", "t=0;k=%s" % b64u(pub))]
    seen_ids = set(["0"])
    for i, key in enumerate(keys or [], 1):
        t, raw, alg = key_from_jwk(key.get("jwk"))
        thumbprint = _jwk_thumbprint(key["jwk"]) if key["jwk"].get("x") else None
        vm_id = key.get("id") or thumbprint
        if vm_id in seen_ids:
            raise DidDhtError("verification method id %r is used twice" % vm_id)
        seen_ids.add(vm_id)
        # without id= a reader takes the JWK thumbprint as the id, so it is written only when it differs
        text = ("" if vm_id == thumbprint else "id=%s;" % vm_id) + "t=%d;k=%s" % (t, b64u(raw))
        if alg != KEY_TYPES[t][2]:
            text += ";a=%s" % alg
        if key.get("controller"):
            text += ";c=%s" % key["controller"]
        key_records.append(("_k%d._did." % i, "TXT", text))
        vm.append("k%d" % i)
        purposes = key.get("purposes") or []
        for short, long_name in RELATIONS:
            if long_name in purposes:
                rel[short].append("k%d" % i)
    service_records = []
    for i, svc in enumerate(services or []):
        endpoints = svc.get("endpoints") or []
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not svc.get("id") or not svc.get("type") or not endpoints:
            raise DidDhtError("a service needs id, type and at least one endpoint: %r" % (svc,))
        if any("," in e or ";" in e for e in endpoints) or ";" in svc["id"] + svc["type"]:
            raise DidDhtError("service %s: ',' and ';' cannot appear in ids, types or endpoints" % svc["id"])
        service_records.append(("_s%d._did." % i, "TXT", "id=%s;t=%s;se=%s" % (svc["id"], svc["type"], ",".join(endpoints))))
    root = "v=0;vm=" + ",".join(vm)
    for short, _long in RELATIONS:
        if rel[short]:
            root += ";%s=%s" % (short, ",".join(rel[short]))
    if service_records:
        root += ";svc=" + ",".join("s%d" % i for i in range(len(service_records)))
    records = key_records + service_records
    if controllers:
        records.append(("_cnt._did.", "TXT", ",".join(controllers)))
    if also_known_as:
        records.append(("_aka._did.", "TXT", ",".join(also_known_as)))
    if previous:
        check_previous(previous.get("did"), previous.get("signature"), pub)
        records.append(("_prv._did.", "TXT", "id=%s;s=%s" % (previous["did"], previous["signature"])))
    if types:
        records.append(("_typ._did.", "TXT", "id=" + ",".join(str(int(t)) for t in types)))
    records.extend((root_name, "NS", g if g.endswith(".") else g + ".") for g in gateways or [])
    records.append((root_name, "TXT", root))
    return records


def previous_proof(old_key, new_pub):
    """{did, signature} linking the DID of new_pub to the DID of old_key (an Ed25519 private key):
    the old identity key's signature over the new identity key's 32 bytes (spec: _prv)."""
    return {"did": did_from_public(public_bytes(old_key)), "signature": b64u(old_key.sign(new_pub))}


def check_previous(previous_did, signature, new_pub):
    """DidDhtError unless signature (b64url) is previous_did's key's signature over new_pub."""
    if not isinstance(previous_did, str) or not isinstance(signature, str):
        raise DidDhtError("a previous DID proof needs the previous DID and its signature")
    old = public_from_did(previous_did)
    if old == new_pub:
        raise DidDhtError("the previous DID %s is this DID itself" % previous_did)
    sig = b64u_decode(signature, "the previous DID proof's signature")
    if len(sig) != 64 or not ed25519_verify(old, sig, new_pub):
        raise DidDhtError("the previous DID proof does not verify: %s did not sign this DID's key" % previous_did)


def previous_from_records(did, records):
    """The previous DID a record set names in _prv._did., its proof checked; None without one."""
    for name, rtype, text in (r[:3] for r in records):
        if name == "_prv._did." and rtype == "TXT":
            props = _props(text)
            check_previous(props.get("id"), props.get("s"), public_from_did(did))
            return props["id"]
    return None


def keys_before_root(records):
    """Whether every key and service record comes before the root TXT record."""
    seen_root = False
    for name, rtype, _text in (r[:3] for r in records):
        if name.startswith("_did.") and rtype == "TXT":
            seen_root = True
        elif seen_root and (name.startswith("_k") or name.startswith("_s")):
            return False
    return True


def deactivation_records(pub):
    return [("_did.%s." % z32_encode(pub), "TXT", "deactivated")]


def document_from_records(did, records):
    """(DID Document or None when deactivated, gateways) from decoded records; checks that
    `_k0` is the DID's own key."""
    pub = public_from_did(did)
    root_name = "_did.%s." % did[len(DID_PREFIX):]
    txt = dict((name, text) for name, rtype, text in (r[:3] for r in records) if rtype == "TXT")
    gateways = [r[2] for r in records if r[1] == "NS" and r[0] == root_name]
    root = txt.get(root_name)
    if root is None:
        raise DidDhtError("%s: the packet has no root record %s" % (did, root_name))
    if root.strip() == "deactivated":
        return None, gateways
    props = _props(root)
    if props.get("v") != "0":
        raise DidDhtError("%s: unsupported root record version %r" % (did, props.get("v")))
    doc = {"id": did, "verificationMethod": []}
    ids = {}
    for ref in [x for x in props.get("vm", "").split(",") if x]:
        krec = txt.get("_%s._did." % ref)
        if krec is None:
            raise DidDhtError("%s: root lists %s but the packet has no _%s._did. record" % (did, ref, ref))
        kp = _props(krec)
        try:
            t = int(kp.get("t", ""))
        except ValueError:
            raise DidDhtError("%s: key %s has no valid t= (key type)" % (did, ref))
        raw = b64u_decode(kp.get("k", ""), "key %s" % ref)
        vm_id = "0" if ref == "k0" else kp.get("id")
        jwk = jwk_from_key(t, raw, kp.get("a"), kid=vm_id)
        if ref == "k0":
            if t != 0 or raw != pub:
                raise DidDhtError("%s: the identity key _k0 does not match the DID" % did)
        elif not vm_id:
            vm_id = jwk["kid"]
        ids[ref] = "%s#%s" % (did, vm_id)
        doc["verificationMethod"].append({"id": ids[ref], "type": "JsonWebKey",
                                          "controller": kp.get("c") or did, "publicKeyJwk": jwk})
    if "k0" not in ids:
        raise DidDhtError("%s: the root record does not list the identity key k0" % did)
    for short, long_name in RELATIONS:
        refs = [x for x in props.get(short, "").split(",") if x]
        if refs:
            doc[long_name] = [ids[r] for r in refs if r in ids]
    services = []
    for ref in [x for x in props.get("svc", "").split(",") if x]:
        srec = txt.get("_%s._did." % ref)
        if srec is None:
            raise DidDhtError("%s: root lists %s but the packet has no _%s._did. record" % (did, ref, ref))
        sp = _props(srec)
        services.append({"id": "%s#%s" % (did, sp.get("id", ref)), "type": sp.get("t"),
                         "serviceEndpoint": [e for e in sp.get("se", "").split(",") if e]})
    if services:
        doc["service"] = services
    if txt.get("_cnt._did."):
        cnt = txt["_cnt._did."].split(",")
        doc["controller"] = cnt[0] if len(cnt) == 1 else cnt
    if txt.get("_aka._did."):
        doc["alsoKnownAs"] = txt["_aka._did."].split(",")
    return doc, gateways


def types_from_records(records):
    """The type indexes of _typ._did.; DidDhtError for anything but ASCII decimal numbers."""
    for name, rtype, text in (r[:3] for r in records):
        if name == "_typ._did." and rtype == "TXT":
            ids = [x.strip() for x in _props(text).get("id", "").split(",") if x.strip()]
            bad = [x for x in ids if not (x.isascii() and x.isdigit() and len(x) <= 4)]
            if bad:
                raise DidDhtError("_typ._did. holds %.60r, not type indexes" % ",".join(bad))
            return [int(x) for x in ids]
    return []


def records_text(records):
    """Zone-file-like lines for a diff, in a stable order."""
    lines = ["%s %d IN %s %s" % (r[0], TTL, r[1], json.dumps(r[2]) if r[1] == "TXT" else r[2]) for r in records]
    return "\n".join(sorted(lines)) + ("\n" if lines else "")


# ---------- deciding ----------

SEQ_MAX = 2 ** 64 - 1     # BEP44's seq is an unsigned 64-bit integer
FUTURE_MAX = 7200         # the spec: a seq more than 2 h ahead of the reader's clock is refused


def next_seq(now, last_seq=None):
    seq = max(int(now), (last_seq or 0) + 1)
    if seq > SEQ_MAX:
        raise DidDhtError("a relay holds this DID at seq %d, the largest BEP44 allows: no newer record can be "
                          "published for this key" % last_seq)
    return seq


def choose_best(found):
    """The highest-seq valid item of [{relay, seq, records, ...}]; None when there is none."""
    valid = [f for f in found if f.get("records") is not None]
    return max(valid, key=lambda f: f["seq"]) if valid else None


def publish_reason(desired_doc, desired_extra, best, relays_missing, now, refresh):
    """Why the DID needs publishing, or None when what is on the DHT is current.

    desired_doc is the DID Document to have (None for a deactivation), desired_extra the parts
    the document does not show (gateways, types); best the current item (or None)."""
    if best is None:
        return "not published on any relay" if desired_doc is not None else None
    if desired_doc is None:
        return None if best["document"] is None else "published and active: deactivating"
    if best["document"] is None:
        return "the DHT holds a deactivation record"
    if best["document"] != desired_doc or best["extra"] != desired_extra:
        return "the published DID Document differs"
    if not keys_before_root(best.get("records") or []):
        return "the published records put the root before its keys (resolvers that read in one pass miss them)"
    if relays_missing:
        return "missing on %s" % ", ".join(relays_missing)
    age = int(now) - int(best["seq"])
    if age >= refresh:
        return "published %d s ago, refresh interval %d s" % (age, refresh)
    return None


# ---------- what the module does, on injected relays and clock ----------

def decode_entry(did, pub, body):
    """(seq, fields of a found entry) of a relay body; DidDhtError for anything wrong in it."""
    seq, v = verify_body(pub, body)
    records = [r[:3] for r in decode_packet(v)]
    document, extra = read_records(did, records)
    return seq, dict(records=records, document=document, packet_bytes=len(v), extra=extra)


def read_records(did, records):
    """(DID Document, extra: gateways, types, previous DID) of decoded records."""
    document, gateways = document_from_records(did, records)
    extra = {"gateways": sorted(gateways), "types": sorted(types_from_records(records))}
    previous = previous_from_records(did, records)
    if previous:
        extra["previous"] = previous
    return document, extra


def resolve_all(did, relays, bases, now=None, max_age=None):
    """Every relay's view of did: [{relay, status: found|absent|invalid|unreachable|expired, ...}].

    Each relay's answer is judged alone: one that cannot be decoded, whatever the fault, is that
    relay's `invalid`, never the run's end. With `now`, a seq more than FUTURE_MAX ahead is invalid
    (`future` set); with max_age, a record signed longer ago is `expired`."""
    pub, z32 = public_from_did(did), did[len(DID_PREFIX):]
    found = []
    for base in bases:
        entry = {"relay": base}
        try:
            body = relays.get(base, z32)
        except RelayError as exc:
            entry.update(status="unreachable", error=exc.message, records=None)
            found.append(entry)
            continue
        if body is None:
            entry.update(status="absent", records=None)
        else:
            try:
                seq, fields = decode_entry(did, pub, body)
            except DidDhtError as exc:
                entry.update(status="invalid", error=str(exc), records=None)
            except Exception as exc:  # pylint: disable=broad-except
                # a decoder fault on hostile bytes: this relay's answer is unusable, the others may be good
                entry.update(status="invalid", records=None,
                             error="the record cannot be decoded (%s)" % exc.__class__.__name__)
            else:
                entry.update(status="found", seq=seq, **fields)
                if now is not None and seq > int(now) + FUTURE_MAX:
                    entry.update(status="invalid", records=None, future=True,
                                 error="seq %d is %d s ahead of this clock (the spec refuses more than %d s): the "
                                       "publisher's clock is wrong" % (seq, seq - int(now), FUTURE_MAX))
                elif max_age and int(now) - seq > max_age:
                    entry.update(status="expired", records=None,
                                 error="signed %d s ago, more than max_age %d s: its publisher stopped "
                                       "refreshing it" % (int(now) - seq, max_age))
        found.append(entry)
    return found


def summary(found):
    return [dict((k, f[k]) for k in ("relay", "status", "seq", "error") if k in f) for f in found]


def desired_state(pub, state, options):
    """(records, packet, document, extra) for state present or absent; DidDhtError when too big."""
    did = did_from_public(pub)
    if state == "absent":
        records = deactivation_records(pub)
    else:
        records = records_for(pub, keys=options.get("keys"), services=options.get("services"),
                              controllers=options.get("controllers"), also_known_as=options.get("also_known_as"),
                              types=options.get("types"), gateways=options.get("gateways"),
                              previous=options.get("previous"))
    packet = encode_packet(records)
    if len(packet) > MAX_PACKET:
        raise DidDhtError("the DID Document encodes to a %d-byte DNS packet; the DHT takes at most %d "
                          "(fewer or shorter services, keys or names)" % (len(packet), MAX_PACKET))
    document, extra = read_records(did, [r[:3] for r in decode_packet(packet)])
    return records, packet, document, extra


def ensure(key, state, options, relays, bases, now, check_mode, refresh=3600, read_back=True):
    """Publish (present/absent) when needed. Returns the module result; raises DidDhtError or the
    relay client's error with what was done so far in the message."""
    pub = public_bytes(key)
    did = did_from_public(pub)
    if options.get("did") and options["did"] != did:
        raise DidDhtError("did %s is not this node's: its identity key gives %s" % (options["did"], did))
    records, packet, document, extra = desired_state(pub, state, options)
    found = resolve_all(did, relays, bases, now=now)
    down = [f for f in found if f["status"] == "unreachable"]
    if down:
        raise DidDhtError("; ".join(f["error"] for f in down))
    ahead = [f for f in found if f.get("future")]
    if ahead:
        raise DidDhtError("%s holds this DID signed at seq %d, %d s ahead of this node's clock: check the clock "
                          "(NTP) of this node and of whatever else holds its key; nothing was published"
                          % (ahead[0]["relay"], ahead[0]["seq"], ahead[0]["seq"] - int(now)))
    best = choose_best(found)
    missing = [f["relay"] for f in found if f["status"] != "found" or (best and f["seq"] < best["seq"])]
    reason = publish_reason(document, extra, best, missing if best else [], now, refresh)
    result = {"did": did, "public_key": pub.hex(), "changed": bool(reason), "reason": reason or "up to date",
              "document": document, "deactivated": document is None, "packet_bytes": len(packet),
              "seq": best["seq"] if best else None, "relays": summary(found),
              "diff": {"before_header": "%s (on the DHT)" % did, "after_header": "%s (wanted)" % did,
                       "before": records_text(best["records"]) if best else "", "after": records_text(records)}}
    if not reason or check_mode:
        return result
    seq = next_seq(now, best["seq"] if best else None)
    _sig, body = sign_packet(key, seq, packet)
    z32 = did[len(DID_PREFIX):]
    published = []
    for base in bases:
        try:
            relays.put(base, z32, body)
        except RelayError as exc:
            raise DidDhtError("%s%s" % (exc.message,
                                        "; already published to %s" % ", ".join(published) if published
                                        else "; nothing was published"))
        published.append(base)
    result.update(seq=seq, published_to=published)
    if read_back:
        back = resolve_all(did, relays, bases)
        stale = [f["relay"] for f in back if f["status"] != "found" or f["seq"] != seq]
        if stale:
            raise DidDhtError("published seq %d, but reading it back from %s gave %s (a relay that serves an "
                              "older seq answers from a stale cache)"
                              % (seq, ", ".join(stale), summary([f for f in back if f["relay"] in stale])))
        result["relays"] = summary(back)
    return result


def resolve(did, relays, bases, now, max_age=None):
    """The state: resolved result; DidDhtError when no relay holds a valid, fresh record."""
    found = resolve_all(did, relays, bases, now=now, max_age=max_age)
    best = choose_best(found)
    if best is None:
        raise DidDhtError("%s was not found on any relay: %s" % (
            did, "; ".join("%s %s%s" % (f["relay"], f["status"], " (%s)" % f["error"] if f.get("error") else "")
                           for f in found)))
    return {"did": did, "public_key": public_from_did(did).hex(), "changed": False, "document": best["document"], "deactivated": best["document"] is None,
            "seq": best["seq"], "age": int(now) - int(best["seq"]), "packet_bytes": best["packet_bytes"],
            "gateways": best["extra"]["gateways"], "types": best["extra"]["types"],
            "previous_did": best["extra"].get("previous"), "records": records_text(best["records"]), "relays": summary(found)}


# ---------- what both modules read: the identity key, the relay list ----------

def read_identity_key(path, warn):
    """The node's Ed25519 identity key from path (PEM, raw seed or hex); warn(msg) when its mode
    lets others read it."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise DidDhtError("the identity key %s is not a regular file; set key_file to the key's file" % path)
        with open(path, "rb") as fh:
            data = fh.read(65536)
    except (IOError, OSError, ValueError) as exc:
        raise DidDhtError("cannot read the identity key %s (%s): the backend creates it on first start; "
                          "set key_file to where the node keeps it" % (path, getattr(exc, "strerror", None) or exc))
    if stat.S_IMODE(st.st_mode) & 0o077:
        warn("the identity key %s has mode %o; it should be 0600" % (path, stat.S_IMODE(st.st_mode)))
    return load_signing_key(data)


def did_to_read(did, key_file, warn):
    """The DID to resolve: did, checked, or the one of the node's own key."""
    did = did or did_from_public(public_bytes(read_identity_key(key_file, warn)))
    public_from_did(did)
    return did


def check_relays(urls):
    if not urls:
        raise DidDhtError("relays is empty: name at least one Pkarr relay or did:dht gateway")
    for url in urls:
        check_relay_url(url)


IDENTITY_KEY_FILE = "/var/lib/archipelago/identity/ed25519.pem"


def identity_key_spec():
    """The node's identity key option (doc fragment archipelago.node.relays.identity_key)."""
    return dict(key_file=dict(type="path", default=IDENTITY_KEY_FILE))


def relay_argument_spec(key_file=True):
    """The relay client's options (doc fragment archipelago.node.relays), and the identity key's
    (archipelago.node.relays.identity_key) unless key_file=False."""
    spec = identity_key_spec() if key_file else {}
    spec.update(
        relays=dict(type="list", elements="str", required=True),
        timeout=dict(type="int", default=10),
        retries=dict(type="int", default=3),
        validate_certs=dict(type="bool", default=True),
    )
    return spec


def relays_from(params, deadline=None):
    """The relay client for the module's options, after checking every relay URL (timeout and
    retries are checked by run_module, which sets the deadline from them); every exchange of the
    run ends by `deadline` (time.monotonic())."""
    check_relays(params["relays"])
    return Relays(open_url_fetch(params["timeout"], params["validate_certs"], deadline=deadline),
                  retries=params["retries"], deadline=deadline)


def run_module(module, name, work):
    """The frame of both did:dht modules: cryptography present (else missing_required_lib), the
    relay client built and the run bounded by one deadline (timeout x (retries + 3) + 120 s,
    backed by a hard one 15 s later); work(relays) -> result dict. DidDhtError, RelayError and a
    run past its deadline become fail_json; `changed` then says whether a PUT was accepted."""
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=module_missing_lib("cryptography (Debian: python3-cryptography)"))
    relays, failure = None, None
    p = module.params
    mask_url_passwords(module, p["relays"])
    try:
        try:
            check_limits(p["timeout"], p["retries"])
        except RpcError as exc:
            raise DidDhtError(exc.message)
        budget = deadlines.budget_for(p["timeout"], p["retries"])
        with deadlines.hard_deadline(budget + deadlines.BACKSTOP_S):
            relays = relays_from(p, deadline=time.monotonic() + budget)
            result = work(relays)
    except (DidDhtError, RelayError) as exc:
        failure = getattr(exc, "message", None) or str(exc)
    except deadlines.DeadlinePassed:
        failure = ("the relays did not finish answering within this run's %d s (timeout x (retries + 3) + 120): "
                   "a relay accepts connections but answers too slowly" % (budget + deadlines.BACKSTOP_S))
    else:
        module.exit_json(relay_calls=relays.log, **result)
    log = relays.log if relays else []
    module.fail_json(msg="%s: %s" % (name, failure), relay_calls=log,
                     changed=any(c["method"] == "PUT" and c["status"] and c["status"] < 300 for c in log))
