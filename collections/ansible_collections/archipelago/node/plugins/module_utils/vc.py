# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""W3C Verifiable Credentials and Presentations as JWTs (VC Data Model 1.1, section 6.3.1: the
JWT claims iss, sub, nbf, exp, jti mirror the credential's issuer, subject, dates and id), issued
by a did:dht and verified against the issuer's DID Document.

Pure functions: the DID Documents come from a resolve(did) callable the caller gives (the
modules resolve through Pkarr relays), the clock is an argument. Signing is Ed25519 (EdDSA, the
node's identity key, `#0`); verifying takes EdDSA, ES256K and ES256 keys of the document. Every
part of a token is checked before use: size, base64url, JSON objects, algorithm, key id,
verification relationship, the claims against the credential, the dates."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import uuid

from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import DID_PREFIX, b64u, b64u_decode
from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
MAX_TOKEN = 65536          # a credential or presentation larger than this is refused before decoding
MAX_CREDENTIALS = 50       # credentials in one presentation
CLOCK_SKEW = 300           # seconds of clock difference allowed between issuer and verifier
ALGORITHMS = {"EdDSA": "Ed25519", "ES256K": "secp256k1", "ES256": "P-256"}


class CredentialError(DidDhtError):
    """A credential or presentation that cannot be issued or does not verify; the message says why."""


# ---------- dates ----------

def xml_date(ts):
    """Unix seconds as the XML Schema dateTime the data model uses (UTC, no fraction)."""
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text, what):
    if not isinstance(text, str):
        raise CredentialError("%s is not a date" % what)
    try:
        value = datetime.datetime.strptime(text.replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        raise CredentialError("%s %.40r is not an XML Schema dateTime such as 2026-12-01T00:00:00Z" % (what, text))
    return int(value.timestamp())


# ---------- compact JWS ----------

def _json_part(text, what):
    try:
        value = json.loads(b64u_decode(text, what).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, DidDhtError):
        raise CredentialError("the token's %s is not base64url JSON" % what)
    if not isinstance(value, dict):
        raise CredentialError("the token's %s is not a JSON object" % what)
    return value


def jws_sign(key, header, payload):
    """Compact JWS of payload, signed EdDSA with key (an Ed25519 private key)."""
    h = b64u(json.dumps(dict(header, alg="EdDSA"), separators=(",", ":"), sort_keys=True).encode())
    p = b64u(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signing_input = ("%s.%s" % (h, p)).encode()
    return "%s.%s.%s" % (h, p, b64u(key.sign(signing_input)))


def jws_parse(token):
    """(header, payload, signing input, signature) of a compact JWS; CredentialError when it is not one."""
    if not isinstance(token, str) or not token.strip():
        raise CredentialError("the token is empty or not text")
    token = token.strip()
    if len(token) > MAX_TOKEN:
        raise CredentialError("the token is %d characters; at most %d are read" % (len(token), MAX_TOKEN))
    parts = token.split(".")
    if len(parts) != 3:
        raise CredentialError("the token is not a compact JWS (three parts separated by '.', got %d)" % len(parts))
    header, payload = _json_part(parts[0], "header"), _json_part(parts[1], "payload")
    try:
        signature = b64u_decode(parts[2], "signature")
    except DidDhtError:
        raise CredentialError("the token's signature is not base64url")
    return header, payload, ("%s.%s" % (parts[0], parts[1])).encode("ascii"), signature


def _verify_signature(alg, jwk, signing_input, signature):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        if alg == "EdDSA":
            Ed25519PublicKey.from_public_bytes(b64u_decode(jwk.get("x", ""), "x")).verify(signature, signing_input)
            return True
        curve = ec.SECP256K1() if alg == "ES256K" else ec.SECP256R1()
        if len(signature) != 64:
            return False
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_decode(jwk.get("x", ""), "x"), "big"),
                                                int.from_bytes(b64u_decode(jwk.get("y", ""), "y"), "big"), curve)
        der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        numbers.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError, TypeError, DidDhtError):
        return False


def verify_jws(token, resolve, relationship, now):
    """(header, payload, signer DID) of a token whose signature verifies with a key of its signer's
    DID Document listed under relationship; resolve(did) -> the document or None (deactivated)."""
    header, payload, signing_input, signature = jws_parse(token)
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise CredentialError("the token is signed %.20r; this verifier takes %s" % (alg, ", ".join(sorted(ALGORITHMS))))
    if not isinstance(kid, str) or "#" not in kid or not kid.startswith(DID_PREFIX):
        raise CredentialError("the token's kid %.80r is not a did:dht verification method (did:dht:…#id)" % (kid,))
    did = kid.split("#", 1)[0]
    if payload.get("iss") != did:
        raise CredentialError("the token is signed by %s but its iss is %.80r" % (did, payload.get("iss")))
    doc = resolve(did)
    if doc is None:
        raise CredentialError("%s is deactivated: nothing it signed is valid" % did)
    if kid not in (doc.get(relationship) or []):
        raise CredentialError("%s is not in %s's %s: that key may not sign this" % (kid, did, relationship))
    method = next((m for m in doc.get("verificationMethod") or [] if isinstance(m, dict) and m.get("id") == kid), None)
    jwk = method.get("publicKeyJwk") if method else None
    if not isinstance(jwk, dict) or jwk.get("crv") != ALGORITHMS[alg]:
        raise CredentialError("%s is not a %s key of %s" % (kid, ALGORITHMS[alg], did))
    if not _verify_signature(alg, jwk, signing_input, signature):
        raise CredentialError("the signature does not verify with %s: forged or altered" % kid)
    check_times(payload, now)
    return header, payload, did


def check_times(payload, now):
    for claim in ("nbf", "exp", "iat"):
        if claim in payload and (isinstance(payload[claim], bool) or not isinstance(payload[claim], int)):
            raise CredentialError("the token's %s is not a number of seconds" % claim)
    if "nbf" in payload and payload["nbf"] > now + CLOCK_SKEW:
        raise CredentialError("the token is valid only from %s (nbf), %d s from now"
                              % (xml_date(payload["nbf"]), payload["nbf"] - now))
    if "exp" in payload and payload["exp"] <= now - CLOCK_SKEW:
        raise CredentialError("the token expired at %s (exp)" % xml_date(payload["exp"]))


# ---------- credentials ----------

def credential_id(issuer, subject, types, claims):
    """A stable urn:uuid for a credential's content: the same issuer, subject, types and claims
    give the same id (so a re-issue for renewal keeps its name)."""
    digest = hashlib.sha256(json.dumps([issuer, subject, types, claims], sort_keys=True).encode()).digest()
    return "urn:uuid:%s" % uuid.UUID(bytes=digest[:16], version=4)


def issue(key, issuer, subject, types, claims, issued_at, expires_at=None):
    """A VC-JWT: issuer (did:dht of key) says claims about subject (a DID)."""
    check_did(subject, "subject")
    types = [t for t in types if t != "VerifiableCredential"]
    if not isinstance(claims, dict) or "id" in claims:
        raise CredentialError("claims must be a mapping without 'id' (the subject is the credential's id)")
    cid = credential_id(issuer, subject, types, claims)
    vc = {"@context": [VC_CONTEXT], "type": ["VerifiableCredential"] + types, "id": cid, "issuer": issuer,
          "issuanceDate": xml_date(issued_at), "credentialSubject": dict(claims, id=subject)}
    payload = {"vc": vc, "iss": issuer, "sub": subject, "nbf": int(issued_at), "iat": int(issued_at), "jti": cid}
    if expires_at is not None:
        if expires_at <= issued_at:
            raise CredentialError("a credential must expire after it is issued")
        vc["expirationDate"] = xml_date(expires_at)
        payload["exp"] = int(expires_at)
    return jws_sign(key, {"typ": "JWT", "kid": issuer + "#0"}, payload)


def check_did(did, what):
    if not isinstance(did, str) or not did.startswith(DID_PREFIX) or len(did) != len(DID_PREFIX) + 52:
        raise CredentialError("%s %.80r is not a did:dht" % (what, did))


def _date(vc, field, payload, claim):
    """The credential's date `field` in seconds, which must equal the JWT claim when both are there."""
    value = payload.get(claim)
    if field in vc:
        date = parse_date(vc[field], field)
        if value is not None and date != value:
            raise CredentialError("the token's %s is not the credential's %s" % (claim, field))
        value = date
    return value


def _credential_from(payload, issuer):
    vc = payload.get("vc")
    if not isinstance(vc, dict):
        raise CredentialError("the token has no vc claim: it is not a verifiable credential")
    types = vc.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or not all(isinstance(t, str) for t in types):
        raise CredentialError("the credential's type does not include VerifiableCredential")
    context = vc.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise CredentialError("the credential's first @context is not %s" % VC_CONTEXT)
    vc_issuer = vc.get("issuer")
    vc_issuer = vc_issuer.get("id") if isinstance(vc_issuer, dict) else vc_issuer
    if vc_issuer != issuer:
        raise CredentialError("the credential's issuer %.80r is not its signer %s" % (vc_issuer, issuer))
    subject = vc.get("credentialSubject")
    if not isinstance(subject, dict):
        raise CredentialError("the credential has no credentialSubject object")
    if "sub" in payload and subject.get("id") not in (None, payload["sub"]):
        raise CredentialError("the token's sub is not the credentialSubject's id")
    subject_id = payload.get("sub", subject.get("id"))
    if "jti" in payload and vc.get("id") not in (None, payload["jti"]):
        raise CredentialError("the token's jti is not the credential's id")
    issued = _date(vc, "issuanceDate", payload, "nbf")
    expires = _date(vc, "expirationDate", payload, "exp")
    claims = dict((k, v) for k, v in subject.items() if k != "id")
    return {"id": payload.get("jti", vc.get("id")), "issuer": issuer, "subject": subject_id,
            "types": [t for t in types if t != "VerifiableCredential"], "claims": claims,
            "issued": xml_date(issued) if issued is not None else None,
            "expires": xml_date(expires) if expires is not None else None,
            "issued_at": issued, "expires_at": expires}


def verify_credential(token, resolve, now, subject=None, issuer=None):
    """The credential a VC-JWT carries, after checking its signature (a key of the issuer's
    assertionMethod), its claims and its dates; CredentialError otherwise."""
    _header, payload, signer = verify_jws(token, resolve, "assertionMethod", now)
    cred = _credential_from(payload, signer)
    if cred["expires_at"] is not None and cred["expires_at"] <= now - CLOCK_SKEW:
        raise CredentialError("the credential expired at %s" % cred["expires"])
    if issuer and cred["issuer"] != issuer:
        raise CredentialError("the credential is issued by %s, not by %s" % (cred["issuer"], issuer))
    if subject and cred["subject"] != subject:
        raise CredentialError("the credential is about %s, not about %s" % (cred["subject"], subject))
    return cred


def read_own(token, pub, now):
    """The credential of a VC-JWT this node issued (signature by pub, the identity key), without
    resolving: for deciding whether a stored credential is still the one wanted. None when the
    token is not a valid credential of this key."""
    from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import did_from_public
    did = did_from_public(pub)
    doc = {"id": did, "assertionMethod": [did + "#0"],
           "verificationMethod": [{"id": did + "#0", "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": b64u(pub)}}]}
    try:
        return verify_credential(token, lambda d: doc if d == did else {}, now)
    except CredentialError:
        return None


# ---------- presentations ----------

def present(key, holder, credentials, issued_at, audience=None, nonce=None, expires_in=600):
    """A VP-JWT of holder (did:dht of key) holding the VC-JWTs in credentials."""
    if not credentials or len(credentials) > MAX_CREDENTIALS:
        raise CredentialError("a presentation holds 1 to %d credentials" % MAX_CREDENTIALS)
    vp_id = "urn:uuid:%s" % uuid.uuid4()
    vp = {"@context": [VC_CONTEXT], "type": ["VerifiablePresentation"], "id": vp_id, "holder": holder,
          "verifiableCredential": list(credentials)}
    payload = {"vp": vp, "iss": holder, "sub": holder, "jti": vp_id, "iat": int(issued_at), "nbf": int(issued_at),
               "exp": int(issued_at) + int(expires_in)}
    if audience:
        payload["aud"] = audience
    if nonce:
        payload["nonce"] = nonce
    return jws_sign(key, {"typ": "JWT", "kid": holder + "#0"}, payload)


def verify_presentation(token, resolve, now, audience=None, nonce=None, holder_is_subject=True):
    """{holder, id, credentials: [...]} of a VP-JWT whose signature verifies (a key of the holder's
    authentication), for audience and nonce when given, each credential verified; with
    holder_is_subject, every credential must be about the holder."""
    _header, payload, holder = verify_jws(token, resolve, "authentication", now)
    vp = payload.get("vp")
    if not isinstance(vp, dict) or "VerifiablePresentation" not in (vp.get("type") or []):
        raise CredentialError("the token has no vp claim of type VerifiablePresentation")
    if vp.get("holder") not in (None, holder):
        raise CredentialError("the presentation's holder %.80r is not its signer %s" % (vp.get("holder"), holder))
    if audience is not None:
        aud = payload.get("aud")
        if aud != audience and not (isinstance(aud, list) and audience in aud):
            raise CredentialError("the presentation is for %.80r, not for %s" % (aud, audience))
    if nonce is not None and payload.get("nonce") != nonce:
        raise CredentialError("the presentation's nonce is not the one asked for (a replay?)")
    creds = vp.get("verifiableCredential")
    if not isinstance(creds, list) or not creds or len(creds) > MAX_CREDENTIALS:
        raise CredentialError("the presentation holds no credentials (or more than %d)" % MAX_CREDENTIALS)
    out = []
    for i, cred in enumerate(creds):
        try:
            c = verify_credential(cred, resolve, now)
        except CredentialError as exc:
            raise CredentialError("credential %d of the presentation: %s" % (i, exc))
        if holder_is_subject and c["subject"] != holder:
            raise CredentialError("credential %d of the presentation is about %s, not its holder %s"
                                  % (i, c["subject"], holder))
        out.append(c)
    return {"holder": holder, "id": payload.get("jti", vp.get("id")), "credentials": out}


# ---------- what the modules share ----------

def read_token_file(path):
    """The text of a credential or presentation file (at most MAX_TOKEN characters)."""
    import os
    import stat
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise CredentialError("%s is not a regular file" % path)
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOKEN + 1)
    except (IOError, OSError, ValueError) as exc:
        raise CredentialError("cannot read %.200r (%s)" % (path, getattr(exc, "strerror", None) or exc))
    if len(data) > MAX_TOKEN:
        raise CredentialError("%s is larger than %d bytes: not a credential" % (path, MAX_TOKEN))
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise CredentialError("%s is not a JWT (it holds bytes other than ASCII)" % path)


def subject_of(token):
    """The sub claim of a token, read without verifying (to check what a module is given)."""
    return jws_parse(token)[1].get("sub")


def run_local(module, name, work):
    """The frame of the modules that sign on the node without relays: cryptography present,
    work() -> result; CredentialError / DidDhtError become fail_json naming the module."""
    from ansible.module_utils.basic import missing_required_lib
    from ansible_collections.archipelago.node.plugins.module_utils.did_dht import HAS_CRYPTOGRAPHY
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography (Debian: python3-cryptography)"))
    try:
        result = work()
    except DidDhtError as exc:
        module.fail_json(msg="%s: %s" % (name, exc))
    module.exit_json(**result)
