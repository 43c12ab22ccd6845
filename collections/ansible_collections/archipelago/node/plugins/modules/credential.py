#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: credential
short_description: Issue a W3C Verifiable Credential signed by the node's did:dht
version_added: 0.2.0
description:
  - Issues a Verifiable Credential (W3C VC Data Model 1.1 as a JWT, signed EdDSA) whose issuer
    is the node's did:dht (its identity key, C(#0)) and whose subject is O(subject), and keeps
    it in O(path) on the node (VC-01).
  - It reads first. The credential in O(path) is kept while it is this node's, about
    O(subject), with the same O(types) and O(claims), and expires later than O(renew_before)
    from now; otherwise a new one is issued and written in its place (atomically).
  - The credential's id is derived from its issuer, subject, types and claims, so a renewal
    keeps the id and a changed claim gets a new one.
  - Verify credentials with M(archipelago.node.credential_info); present them with
    M(archipelago.node.presentation).
extends_documentation_fragment:
  - archipelago.node.relays.identity_key
options:
  subject:
    description: The did:dht the credential is about (C(credentialSubject.id)).
    type: str
    required: true
  types:
    description:
      - Credential types beside C(VerifiableCredential), for example C(ArchipelagoTrustedPeer).
    type: list
    elements: str
    default: []
  claims:
    description:
      - What the issuer says about the subject (C(credentialSubject) without C(id)); JSON
        values, at most 8 KiB.
    type: dict
    default: {}
  path:
    description: Where the credential (the JWT, one line) is kept on the node; its folder is created.
    type: path
    required: true
  mode:
    description: The file's mode. A credential is public; it holds no secret.
    type: raw
    default: "0644"
  valid_for:
    description: Seconds from issue to expiry (at least 3600).
    type: int
    default: 31536000
  renew_before:
    description: A credential that expires within this many seconds is issued again.
    type: int
    default: 2592000
  state:
    description: V(present) issues and keeps it; V(absent) removes the file.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads the file and reports whether it would issue and why; signs and writes nothing.
  diff_mode:
    support: full
    description: The credential's subject, types, claims and dates before and after.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Say that a peer is a trusted peer of this node (VC-02)
  archipelago.node.credential:
    subject: "{{ peer_did_dht }}"
    types: [ArchipelagoTrustedPeer]
    claims:
      trustedPeerOf: "{{ my_did_dht }}"
      establishedOn: "2026-12-01"
    path: /var/lib/archipelago/credentials/issued/peer.jwt
  register: issued
"""

RETURN = r"""
credential:
  description: The credential as a JWT (in check mode, the one kept, if any).
  returned: state is present
  type: str
reason:
  description: Why it was issued, or C(up to date).
  returned: state is present
  type: str
  sample: expires 2026-12-20T00:00:00Z, within renew_before (2592000 s)
id:
  description: The credential's id (urn:uuid).
  returned: state is present
  type: str
issuer:
  description: The node's did:dht.
  returned: state is present
  type: str
subject:
  description: The subject's DID.
  returned: state is present
  type: str
issued:
  description: When the credential kept was issued (XML Schema dateTime).
  returned: state is present
  type: str
expires:
  description: When it expires.
  returned: state is present
  type: str
"""

import json
import os
import re
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd
from ansible_collections.archipelago.node.plugins.module_utils import vc
from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import did_from_public

TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MAX_CLAIMS = 8192


def check_options(p):
    vc.check_did(p["subject"], "subject")
    bad = [t for t in p["types"] if not TYPE_NAME.match(t)]
    if bad:
        raise vc.CredentialError("types are names such as ArchipelagoTrustedPeer; not %s" % ", ".join(repr(t)[:40] for t in bad))
    try:
        size = len(json.dumps(p["claims"], sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise vc.CredentialError("claims must hold JSON values only (%s)" % exc)
    if size > MAX_CLAIMS:
        raise vc.CredentialError("claims are %d bytes as JSON; at most %d" % (size, MAX_CLAIMS))
    if "id" in p["claims"]:
        raise vc.CredentialError("claims cannot hold 'id': the subject is the credential's id")
    if p["valid_for"] < 3600:
        raise vc.CredentialError("valid_for must be at least 3600 seconds, got %d" % p["valid_for"])
    if not 0 <= p["renew_before"] < p["valid_for"]:
        raise vc.CredentialError("renew_before must be 0 or more and less than valid_for")


def summary(cred):
    if not cred:
        return ""
    return json.dumps(dict((k, cred[k]) for k in ("id", "issuer", "subject", "types", "claims", "issued", "expires")),
                      indent=2, sort_keys=True) + "\n"


def reason_to_issue(current, p, issuer, now):
    if current is None:
        return "the file holds no valid credential of this node"
    if current["subject"] != p["subject"]:
        return "the credential is about %s" % current["subject"]
    if current["types"] != [t for t in p["types"] if t != "VerifiableCredential"] or current["claims"] != p["claims"]:
        return "the credential's types or claims differ"
    if current["expires_at"] is None or current["expires_at"] - now < p["renew_before"]:
        return "expires %s, within renew_before (%d s)" % (current["expires"], p["renew_before"])
    return None


def write_atomically(module, path, text, mode):
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".credential-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    module.atomic_move(tmp, path)


def check_path(path):
    if not path or not os.path.isabs(path) or path.endswith("/") or "\x00" in path:
        raise vc.CredentialError("path must be an absolute file name, got %.120r" % (path,))
    if os.path.isdir(path):
        raise vc.CredentialError("path %s is a folder; name the credential's file" % path)
    if os.path.lexists(path) and not os.path.isfile(path):
        raise vc.CredentialError("path %s is not a regular file" % path)


def work(module):
    try:
        return converge(module)
    except (IOError, OSError) as exc:
        raise vc.CredentialError("cannot write %s (%s)" % (module.params["path"], getattr(exc, "strerror", None) or exc))


def converge(module):
    p = module.params
    now = int(time.time())
    path = p["path"]
    check_path(path)
    if p["state"] == "absent":
        exists = os.path.lexists(path)
        if exists and not module.check_mode:
            os.unlink(path)
        return {"changed": exists, "path": path}
    check_options(p)
    key = dd.read_identity_key(p["key_file"], module.warn)
    pub = dd.public_bytes(key)
    issuer = did_from_public(pub)
    token, current = None, None
    if os.path.lexists(path):
        token = vc.read_token_file(path)
        current = vc.read_own(token, pub, now)
    reason = reason_to_issue(current, p, issuer, now)
    cred = current
    if reason:
        if module.check_mode:
            cred = dict(current or {}, subject=p["subject"], issuer=issuer, types=list(p["types"]), claims=p["claims"],
                        issued=vc.xml_date(now), expires=vc.xml_date(now + p["valid_for"]), id=vc.credential_id(
                            issuer, p["subject"], [t for t in p["types"] if t != "VerifiableCredential"], p["claims"]))
        else:
            token = vc.issue(key, issuer, p["subject"], p["types"], p["claims"], now, now + p["valid_for"])
            write_atomically(module, path, token, p["mode"])
            cred = vc.read_own(token, pub, now)
    file_args = module.load_file_common_arguments(dict(path=path, mode=p["mode"]))
    changed = bool(reason)
    if os.path.exists(path):
        changed = module.set_mode_if_different(path, file_args["mode"], changed)
    result = {"changed": changed, "reason": reason or "up to date", "credential": token, "path": path}
    result.update((k, cred.get(k)) for k in ("id", "issuer", "subject", "issued", "expires"))
    if module._diff:
        result["diff"] = {"before_header": path, "after_header": path, "before": summary(current), "after": summary(cred)}
    return result


def main():
    spec = dict(
        dd.identity_key_spec(),
        subject=dict(type="str", required=True),
        types=dict(type="list", elements="str", default=[]),
        claims=dict(type="dict", default={}),
        path=dict(type="path", required=True),
        mode=dict(type="raw", default="0644"),
        valid_for=dict(type="int", default=31536000),
        renew_before=dict(type="int", default=2592000),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    vc.run_local(module, "credential", lambda: work(module))


if __name__ == "__main__":
    main()
