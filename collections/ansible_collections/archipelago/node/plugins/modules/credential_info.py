#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: credential_info
short_description: Verify a Verifiable Credential or Presentation against its signers' did:dht
version_added: 0.2.0
description:
  - Verifies a Verifiable Credential or a Verifiable Presentation (W3C VC Data Model 1.1 as a
    JWT; EdDSA, ES256K or ES256) by resolving its signers' did:dht through the relays (VC-01,
    VC-04). A credential must be signed with a key of its issuer's C(assertionMethod), a
    presentation with a key of its holder's C(authentication), and each credential it holds
    must verify and (with O(holder_is_subject)) be about the holder.
  - The JWT claims must match the credential (issuer, subject, id, dates); an expired token or
    one valid only from later is refused (5 minutes of clock difference allowed).
  - Reads only. A token that does not verify is not a failure of the task; RV(valid) is false and
    RV(error) says why. Bad options fail the task.
extends_documentation_fragment:
  - archipelago.node.relays
options:
  credential:
    description: A credential (JWT) to verify.
    type: str
  presentation:
    description: A presentation (JWT) to verify.
    type: str
  path:
    description: A file on the node holding one credential or presentation.
    type: path
  issuer:
    description: The issuer the credential must have.
    type: str
  subject:
    description: The subject the credential (or, for a presentation, the holder) must have.
    type: str
  audience:
    description: The audience a presentation must be for (its C(aud)).
    type: str
  nonce:
    description: The nonce a presentation must carry.
    type: str
  holder_is_subject:
    description: Whether each credential of a presentation must be about its holder.
    type: bool
    default: true
  max_age:
    description: The oldest did:dht record taken, in seconds (see M(archipelago.node.did_dht_info)).
    type: int
    default: 604800
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as in a run.
  diff_mode:
    support: none
    description: Changes nothing.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: The credential a peer gave this node verifies
  archipelago.node.credential_info:
    path: /var/lib/archipelago/credentials/received/peer.jwt
    issuer: "{{ peer_did_dht }}"
    relays: [https://relay.example.org/]
  register: check
  failed_when: not check.valid
"""

RETURN = r"""
valid:
  description: Whether the token verified.
  returned: success
  type: bool
error:
  description: Why it did not verify.
  returned: when valid is false
  type: str
kind:
  description: C(credential) or C(presentation).
  returned: success
  type: str
credential:
  description: The credential verified (id, issuer, subject, types, claims, issued, expires).
  returned: when a credential verified
  type: dict
presentation:
  description: The presentation verified (holder, id, credentials).
  returned: when a presentation verified
  type: dict
resolved:
  description: The DIDs resolved, with the seq of the record used.
  returned: success
  type: dict
relay_calls:
  description: The HTTP requests made, with their status.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd
from ansible_collections.archipelago.node.plugins.module_utils import vc


def verify(token, p, resolve, now):
    payload = vc.jws_parse(token)[1]
    if "vp" in payload:
        pres = vc.verify_presentation(token, resolve, now, audience=p["audience"], nonce=p["nonce"],
                                      holder_is_subject=p["holder_is_subject"])
        if p["subject"] and pres["holder"] != p["subject"]:
            raise vc.CredentialError("the presentation's holder is %s, not %s" % (pres["holder"], p["subject"]))
        if p["issuer"] and any(c["issuer"] != p["issuer"] for c in pres["credentials"]):
            raise vc.CredentialError("a credential of the presentation is not issued by %s" % p["issuer"])
        return {"kind": "presentation", "presentation": pres}
    return {"kind": "credential",
            "credential": vc.verify_credential(token, resolve, now, subject=p["subject"], issuer=p["issuer"])}


def main():
    spec = dict(dd.relay_argument_spec(key_file=False), credential=dict(type="str"), presentation=dict(type="str"),
                path=dict(type="path"), issuer=dict(type="str"), subject=dict(type="str"), audience=dict(type="str"),
                nonce=dict(type="str", no_log=False), holder_is_subject=dict(type="bool", default=True),
                max_age=dict(type="int", default=604800))
    module = NodeModule(argument_spec=spec, supports_check_mode=True,
                        mutually_exclusive=[["credential", "presentation", "path"]],
                        required_one_of=[["credential", "presentation", "path"]])
    p = module.params

    def work(relays):
        if p["max_age"] < 0:
            raise dd.DidDhtError("max_age is seconds (0 for any age), got %d" % p["max_age"])
        token = p["credential"] or p["presentation"] or vc.read_token_file(p["path"])
        now = int(time.time())
        resolved = {}

        def resolve(did):
            if did not in resolved:
                try:
                    resolved[did] = dd.resolve(did, relays, p["relays"], now, max_age=p["max_age"])
                except vc.CredentialError:
                    raise
                except dd.DidDhtError as exc:
                    raise vc.CredentialError("cannot resolve the signer: %s" % exc)
            return resolved[did]["document"]
        try:
            result = verify(token, p, resolve, now)
            result["valid"] = True
        except vc.CredentialError as exc:
            result = {"valid": False, "error": str(exc)}
        result.update(changed=False, resolved=dict((d, {"seq": r["seq"]}) for d, r in resolved.items()))
        return result
    dd.run_module(module, "credential_info", work)


if __name__ == "__main__":
    main()
