#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: presentation
short_description: Present Verifiable Credentials as the node's did:dht
version_added: 0.2.0
description:
  - Makes a Verifiable Presentation (W3C VC Data Model 1.1 as a JWT, signed EdDSA by the node's
    identity key, C(#0)) whose holder is the node's did:dht and which holds the credentials
    given (VC-01, VC-04). A verifier checks it with M(archipelago.node.credential_info).
  - Every credential must be about the node (its C(sub) is the node's did:dht); one about
    another DID fails the task.
  - Writes nothing on the node, so it never reports a change; it runs the same in check mode.
extends_documentation_fragment:
  - archipelago.node.relays.identity_key
options:
  credentials:
    description: Credentials (JWTs) to present.
    type: list
    elements: str
    default: []
  credential_files:
    description: Files on the node holding one credential each (as M(archipelago.node.credential) keeps them).
    type: list
    elements: path
    default: []
  audience:
    description: The verifier this presentation is for (its C(aud)), for example the verifier's did:dht.
    type: str
  nonce:
    description: The verifier's challenge, so the presentation cannot be replayed elsewhere.
    type: str
  expires_in:
    description: Seconds the presentation is valid (60 to 86400).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Signs in check mode too; it changes nothing either way.
  diff_mode:
    support: none
    description: Changes nothing.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Present the credential a peer issued to this node
  archipelago.node.presentation:
    credential_files: [/var/lib/archipelago/credentials/received/peer.jwt]
    audience: "{{ verifier_did }}"
    nonce: "{{ challenge }}"
  register: vp
"""

RETURN = r"""
presentation:
  description: The presentation as a JWT.
  returned: success
  type: str
holder:
  description: The node's did:dht.
  returned: success
  type: str
id:
  description: The presentation's id (urn:uuid).
  returned: success
  type: str
expires:
  description: When it stops being valid.
  returned: success
  type: str
audience:
  description: The O(audience) it is for, or null.
  returned: success
  type: str
nonce:
  description: The O(nonce) it carries, or null.
  returned: success
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd
from ansible_collections.archipelago.node.plugins.module_utils import vc
from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import did_from_public


def work(module):
    p = module.params
    if not 60 <= p["expires_in"] <= 86400:
        raise vc.CredentialError("expires_in must be 60 to 86400 seconds, got %d" % p["expires_in"])
    tokens = [t.strip() for t in p["credentials"]] + [vc.read_token_file(f) for f in p["credential_files"]]
    if not tokens:
        raise vc.CredentialError("give at least one credential (credentials or credential_files)")
    key = dd.read_identity_key(p["key_file"], module.warn)
    holder = did_from_public(dd.public_bytes(key))
    for i, token in enumerate(tokens):
        sub = vc.subject_of(token)
        if sub != holder:
            raise vc.CredentialError("credential %d is about %.80r, not about this node (%s)" % (i, sub, holder))
    now = int(time.time())
    token = vc.present(key, holder, tokens, now, audience=p["audience"], nonce=p["nonce"], expires_in=p["expires_in"])
    return {"changed": False, "presentation": token, "holder": holder, "id": vc.jws_parse(token)[1]["jti"],
            "expires": vc.xml_date(now + p["expires_in"]), "audience": p["audience"], "nonce": p["nonce"]}


def main():
    spec = dict(
        dd.identity_key_spec(),
        credentials=dict(type="list", elements="str", default=[]),
        credential_files=dict(type="list", elements="path", default=[]),
        audience=dict(type="str"),
        nonce=dict(type="str", no_log=False),
        expires_in=dict(type="int", default=600),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    vc.run_local(module, "presentation", lambda: work(module))


if __name__ == "__main__":
    main()
