# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  relays:
    description:
      - Base URLs of Pkarr relays or did:dht gateways (C(GET/PUT /{z-base-32})). A path must be a
        directory; a missing final C(/) is added.
    type: list
    elements: str
    required: true
  timeout:
    description:
      - Seconds to wait for one HTTP answer, from 1 to 300.
      - The whole run, every relay and every attempt, ends within O(timeout) x (O(retries) + 3) + 120
        seconds; a server that answers slower than that, even one byte at a time, fails the run.
    type: int
    default: 10
  retries:
    description: Further attempts (0 to 10) after a connection error, HTTP 429 or (reads) a 5xx, with back-off from 1 s.
    type: int
    default: 3
  validate_certs:
    description: Check TLS certificates of https relays.
    type: bool
    default: true
requirements:
  - cryptography (Debian python3-cryptography) on the node
"""

    # The node's identity key (the did:dht modules, the credential modules):
    # extends_documentation_fragment: archipelago.node.relays.identity_key
    IDENTITY_KEY = r"""
options:
  key_file:
    description:
      - The node's Ed25519 identity key on the node (PKCS#8 PEM, a raw 32-byte seed, or 64 hex
        characters). Read, never returned or logged.
    type: path
    default: /var/lib/archipelago/identity/ed25519.pem
requirements:
  - cryptography (Debian python3-cryptography) on the node
"""
