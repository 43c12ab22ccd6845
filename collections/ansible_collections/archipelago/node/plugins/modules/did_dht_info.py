#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: did_dht_info
short_description: Resolve a did:dht through Pkarr relays and verify it
version_added: 0.2.0
description:
  - Fetches the record of O(did) (default the node's own, from its identity key) from every relay,
    checks its BEP44 signature against the DID's key, decodes the DNS packet and returns the DID
    Document of the newest valid record, with each relay's view (found, absent, invalid,
    unreachable, expired).
  - Records are judged per relay; one relay's undecodable, forged, expired or future-dated answer is
    reported and the others are still read.
  - Only reads; nothing is ever published. Fails, naming each relay's answer, when no relay holds a
    valid record.
extends_documentation_fragment:
  - archipelago.node.relays
  - archipelago.node.relays.identity_key
options:
  did:
    description: The DID to resolve; default the DID of the node's key in O(key_file).
    type: str
  max_age:
    description:
      - Seconds after its signing (its seq) beyond which a record is not taken (the relay's answer
        is reported C(expired)); a DID whose owner stopped refreshing it is not current. V(0)
        takes records of any age.
      - A record whose seq is more than two hours ahead of this clock is always refused (the spec's limit).
    type: int
    default: 604800
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as in a run.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Resolve the peer's DID
  archipelago.node.did_dht_info:
    did: "{{ peer_did }}"
    relays: [https://relay.example.org/]
  register: peer

- name: The node's own DID as the relays hold it
  archipelago.node.did_dht_info:
    relays: [https://relay.example.org/]
  register: mine
"""

RETURN = r"""
did:
  description: The DID resolved.
  returned: success
  type: str
  sample: did:dht:47pjoycnsrfmxikm95jh13y88e8qnhzu5kungjpxyepgt7a8krpy
public_key:
  description: The DID's identity key (Ed25519, hex).
  returned: success
  type: str
document:
  description: The DID Document; null when the DID is deactivated.
  returned: success
  type: dict
deactivated:
  description: Whether the DID is deactivated.
  returned: success
  type: bool
seq:
  description: The sequence number of the record returned.
  returned: success
  type: int
age:
  description: Seconds since that record was signed.
  returned: success
  type: int
packet_bytes:
  description: Size of its DNS packet.
  returned: success
  type: int
records:
  description: Its DNS records, one per line.
  returned: success
  type: str
gateways:
  description: NS gateway names in the record.
  returned: success
  type: list
  elements: str
types:
  description: did:dht type indexes in the record.
  returned: success
  type: list
  elements: int
previous_did:
  description: The DID this one replaces, when the record names one (its proof checked); else null.
  returned: success
  type: str
relays:
  description: Each relay's answer (found, absent, invalid, unreachable, expired), its seq and error.
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


def main():
    spec = dict(dd.relay_argument_spec(), did=dict(type="str"), max_age=dict(type="int", default=604800))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def work(relays):
        if p["max_age"] < 0:
            raise dd.DidDhtError("max_age is seconds (0 for any age), got %d" % p["max_age"])
        return dd.resolve(dd.did_to_read(p["did"], p["key_file"], module.warn), relays, p["relays"], time.time(),
                          max_age=p["max_age"])
    dd.run_module(module, "did_dht_info", work)


if __name__ == "__main__":
    main()
