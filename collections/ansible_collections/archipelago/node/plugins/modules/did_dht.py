#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: did_dht
short_description: Publish, resolve or deactivate an Archipelago node's did:dht
version_added: 0.1.0
description:
  - Builds the node's DID Document as a DNS packet (did:dht spec, Implementer's Draft of July 2024)
    from its Ed25519 identity key, signs it as a BEP44 mutable item on the node, and publishes it
    through Pkarr relays or the DHT part of did:dht gateways, which store it on the Mainline DHT
    (DHT-02/03). The private key never leaves the node; only the signed packet is sent.
  - It reads first. The record on every relay is fetched and its signature checked; the DID is
    published only when the document differs, a relay lacks it, or it is older than
    O(refresh_interval). The new sequence number is max(now, last + 1), in seconds.
  - O(state=absent) publishes the deactivation record.
  - O(state=resolved) is deprecated; use M(archipelago.node.did_dht_info), which only reads.
  - Publishing straight to the DHT (without a relay) needs a BEP44 client that Debian nodes do not
    ship; relays do that part.
extends_documentation_fragment:
  - archipelago.node.relays
  - archipelago.node.relays.identity_key
options:
  state:
    description: Publish (V(present)), deactivate (V(absent)) or only read (V(resolved), deprecated).
    type: str
    choices: [present, absent, resolved]
    default: present
  did:
    description:
      - With V(present) or V(absent), a check that the key is this DID's; a mismatch fails before
        anything is published.
    type: str
  services:
    description: Services of the DID Document (for example the node's Tor onion service).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The service id (the part after C(#)).
        type: str
        required: true
      type:
        description: The service type, for example C(TorHiddenService).
        type: str
        required: true
      endpoints:
        description: One or more endpoint URIs.
        type: list
        elements: str
        required: true
  keys:
    description: Further public keys beside the identity key (which is always C(#0)).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The verification method id; default the key's JWK thumbprint.
        type: str
      jwk:
        description: The public key as a JWK (Ed25519, X25519, secp256k1 or P-256).
        type: dict
        required: true
      purposes:
        description: The verification relationships of this key.
        type: list
        elements: str
        default: []
        choices: [authentication, assertionMethod, keyAgreement, capabilityInvocation, capabilityDelegation]
      controller:
        description: The key's controller DID, when not the DID itself.
        type: str
  controllers:
    description: Controller DIDs of the document.
    type: list
    elements: str
    default: []
  also_known_as:
    description: The document's alsoKnownAs identifiers.
    type: list
    elements: str
    default: []
  types:
    description: did:dht type indexes (1 Organization … 7 FinancialInstitution).
    type: list
    elements: int
    default: []
  gateways:
    description: Authoritative gateway host names, written as NS records.
    type: list
    elements: str
    default: []
  previous:
    description:
      - The DID this one replaces (the spec's C(_prv._did.) record), with the proof that the old
        identity key signed the new one. Give O(previous.signature) or O(previous.key_file).
      - The proof is checked before anything is published; one that does not verify fails the task.
    type: dict
    suboptions:
      did:
        description: The previous did:dht.
        type: str
        required: true
      signature:
        description: The old identity key's Ed25519 signature over this DID's 32-byte identity key, base64url.
        type: str
      key_file:
        description:
          - The old identity key on the node (the formats of O(key_file)); the proof is made
            from it. Read, never returned or logged.
        type: path
  refresh_interval:
    description:
      - Seconds after which an unchanged record is published again. Mainline keeps items for
        about two hours; run the module at least hourly.
    type: int
    default: 3600
  read_back:
    description: After publishing, read the record back from every relay and fail unless each returns the new seq.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads every relay and reports whether it would publish and why; sends nothing.
  diff_mode:
    support: full
    description: Shows the DNS records on the DHT and the ones wanted.
notes:
  - The identity key is the BEP44 key and cannot be rotated; a new key is a new DID.
  - Seq numbers are Unix seconds. Never publish the same key with Pkarr's microsecond seqs.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Publish the node's DID with its onion service
  archipelago.node.did_dht:
    relays: [https://relay.example.org/]
    services:
      - id: tor
        type: TorHiddenService
        endpoints: ["http://{{ onion_hostname }}"]

- name: Publish the node's new DID, linked to the one its old key made
  archipelago.node.did_dht:
    relays: [https://relay.example.org/]
    previous:
      did: "{{ old_did }}"
      key_file: /var/lib/archipelago/identity/ed25519.pem.old

- name: Deactivate the DID
  archipelago.node.did_dht:
    state: absent
    relays: [https://relay.example.org/]
"""

RETURN = r"""
did:
  description: The did:dht of the key (or O(did)).
  returned: always
  type: str
  sample: did:dht:47pjoycnsrfmxikm95jh13y88e8qnhzu5kungjpxyepgt7a8krpy
public_key:
  description: The identity key (Ed25519, hex), the same key as the node's did:key.
  returned: success
  type: str
document:
  description: The DID Document wanted (V(present)) or resolved (V(resolved)); null when deactivated.
  returned: success
  type: dict
deactivated:
  description: Whether the DID is (or, for V(absent), will be) deactivated.
  returned: success
  type: bool
reason:
  description: Why it was published, or C(up to date).
  returned: state is present or absent
  type: str
  sample: published 3700 s ago, refresh interval 3600 s
seq:
  description: The sequence number now on the DHT (after publishing, the new one).
  returned: success
  type: int
age:
  description: Seconds since the resolved record was signed.
  returned: state is resolved
  type: int
packet_bytes:
  description: Size of the DNS packet (at most 976).
  returned: success
  type: int
records:
  description: The resolved DNS records, one per line.
  returned: state is resolved
  type: str
gateways:
  description: NS gateway names in the resolved record.
  returned: state is resolved
  type: list
  elements: str
types:
  description: did:dht type indexes in the resolved record.
  returned: state is resolved
  type: list
  elements: int
previous_did:
  description: The previous DID the resolved record names (its proof checked), or null.
  returned: state is resolved
  type: str
published_to:
  description: The relays that accepted the new record.
  returned: when published
  type: list
  elements: str
relays:
  description: Each relay's answer (found, absent, invalid, unreachable) and seq.
  returned: success
  type: list
  elements: dict
relay_calls:
  description: The HTTP requests made, with their status.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd

PURPOSES = ["authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation"]


def argument_spec():
    return dict(
        dd.relay_argument_spec(),
        state=dict(type="str", choices=["present", "absent", "resolved"], default="present"),
        did=dict(type="str"),
        services=dict(type="list", elements="dict", default=[], options=dict(
            id=dict(type="str", required=True), type=dict(type="str", required=True),
            endpoints=dict(type="list", elements="str", required=True))),
        keys=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
            id=dict(type="str"), jwk=dict(type="dict", required=True),
            purposes=dict(type="list", elements="str", default=[], choices=PURPOSES),
            controller=dict(type="str"))),
        controllers=dict(type="list", elements="str", default=[]),
        also_known_as=dict(type="list", elements="str", default=[]),
        types=dict(type="list", elements="int", default=[]),
        gateways=dict(type="list", elements="str", default=[]),
        previous=dict(type="dict", options=dict(
            did=dict(type="str", required=True), signature=dict(type="str"), key_file=dict(type="path", no_log=False)),
            mutually_exclusive=[["signature", "key_file"]], required_one_of=[["signature", "key_file"]]),
        refresh_interval=dict(type="int", default=3600),
        read_back=dict(type="bool", default=True),
    )


def main():
    module = NodeModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params

    def work(relays):
        if p["refresh_interval"] < 60:
            raise dd.DidDhtError("refresh_interval must be at least 60 seconds")
        if any(t < 0 or t > 7 for t in p["types"]):
            raise dd.DidDhtError("types are did:dht type indexes 0..7, got %s" % p["types"])
        if p["state"] == "resolved":
            module.deprecate("did_dht state=resolved is deprecated: use archipelago.node.did_dht_info, which only reads",
                             version="1.0.0", collection_name="archipelago.node")
            return dd.resolve(dd.did_to_read(p["did"], p["key_file"], module.warn), relays, p["relays"], time.time())
        key = dd.read_identity_key(p["key_file"], module.warn)
        options = dict(p)
        if p["previous"] and p["previous"]["key_file"]:
            proof = dd.previous_proof(dd.read_identity_key(p["previous"]["key_file"], module.warn),
                                      dd.public_bytes(key))
            if proof["did"] != p["previous"]["did"]:
                raise dd.DidDhtError("previous.key_file is the key of %s, not of previous.did %s"
                                     % (proof["did"], p["previous"]["did"]))
            options["previous"] = proof
        result = dd.ensure(key, p["state"], options, relays, p["relays"], time.time(), module.check_mode,
                           refresh=p["refresh_interval"], read_back=p["read_back"])
        diff = result.pop("diff", None)
        if module._diff and diff:
            result["diff"] = diff
        return result
    dd.run_module(module, "did_dht", work)


if __name__ == "__main__":
    main()
