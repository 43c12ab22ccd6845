#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nostr_identity
short_description: Make sure an Archipelago node has a valid, unrevoked Nostr key and publishes its presence (STAB-05)
version_added: 0.1.0
description:
  - Reads the node's Nostr key and revocation marker and repairs what is wrong.
  - A valid key with an empty revocation marker (a stray marker) -> the marker is removed
    (C(identity.clear-nostr-revocation)).
  - A missing key, or a key the marker names as revoked -> a new key is created
    (C(identity.create-nostr-key)).
  - A valid key without a marker -> nothing changes.
  - With O(presence), the node's presence record (NIP-78 kind 30078, tag C(d=archipelago-node),
    content C({did, node_address, version})) is read from each relay and checked (event id,
    BIP340 signature, author). When a relay lacks it, holds another or holds one older than
    O(presence.max_age), the node signs a new record (C(identity.nostr-sign); the key never
    leaves the node) and it is published to those relays, then read back. The run fails when
    fewer than O(presence.min_relays) relays hold the current record afterwards.
  - Relays are spoken to from the managed node, over WebSocket (C(ws://) or C(wss://)), with
    the standard library only.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  rotate:
    description: Create a new key even when the current one is valid.
    type: bool
    default: false
  presence:
    description:
      - Publish the node's presence to Nostr relays and check that it is there. Omitted, no relay
        is contacted.
    type: dict
    suboptions:
      relays:
        description: The relays, C(ws://) or C(wss://) URLs.
        type: list
        elements: str
        required: true
      did:
        description: The DID in the record. Default the node's own (C(node.did)).
        type: str
      address:
        description:
          - The node's address in the record. Default the onion address of the backend's Tor
            service C(archipelago) (C(tor.list-services)).
        type: str
      version:
        description: The version in the record. Default the backend's (C(health)).
        type: str
      topic:
        description: The C(t) tag other nodes discover the record by.
        type: str
        default: archipelago
      max_age:
        description: Republish a record older than this many seconds. V(0) keeps a matching record of any age.
        type: int
        default: 604800
      min_relays:
        description: How many relays must hold the current record after the run.
        type: int
        default: 1
      private_relays:
        description:
          - Allow an onion address in the record. Archipelago never publishes onion addresses to
            public relays; set this only when every relay listed is your own.
        type: bool
        default: false
attributes:
  check_mode:
    support: full
    description: Reads the state and reports what it would do; writes nothing.
  diff_mode:
    support: full
    description: Shows the public key and marker before and after, and each relay's presence record.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Repair the node's Nostr identity
  archipelago.node.nostr_identity:
    password_file: /etc/archipelago/admin-password
  register: nostr

- name: Repair it and publish the node's presence to the operator's own relays
  archipelago.node.nostr_identity:
    password_file: /etc/archipelago/admin-password
    presence:
      relays: [ws://10.0.0.5:7447]
      private_relays: true

- name: Rotate the key
  archipelago.node.nostr_identity:
    password_file: /etc/archipelago/admin-password
    rotate: true
"""

RETURN = r"""
repair:
  description: What was done (or would be, in check mode).
  returned: success
  type: str
  choices: [none, clear_marker, create]
reason:
  description: Why.
  returned: success
  type: str
  sample: valid key with an empty revocation marker, the marker is stray
nostr_pubkey:
  description: The node's Nostr public key after the run (null in check mode when a key would be created).
  returned: success
  type: str
nostr_npub:
  description: The same key in NIP-19 form.
  returned: success
  type: str
presence:
  description: With O(presence), the record and each relay's state.
  returned: when presence is set
  type: dict
  contains:
    content:
      description: The record's content.
      type: dict
      sample: {did: "did:dht:1234...", node_address: "abc...xyz.onion", version: "0.7.3"}
    event_id:
      description: The id of the record the relays hold now (null in check mode when one would be published).
      type: str
    relays:
      description: >-
        One entry per relay, url, state (V(current), V(published), V(would_publish),
        V(refused), V(unreachable)) and reason.
      type: list
      elements: dict
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils import nostr
from ansible_collections.archipelago.node.plugins.module_utils.identity import nostr_state, nostr_view, plan_nostr
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    presence = module.params["presence"]
    if presence:
        problem = nostr.check_presence_options(presence["relays"], presence["address"], presence["private_relays"],
                                               presence["min_relays"], presence["topic"], presence["max_age"])
        if problem:
            module.fail_json(msg=problem)
    before = nostr_state(client.call_dict("node.nostr-pubkey"))
    action, reason = plan_nostr(before, module.params["rotate"])
    after = dict(before)
    if action == "clear_marker":
        after.update(marker_present=False, marker_empty=False, marker_pubkey=None)
    elif action == "create":
        after.update(nostr_pubkey=None, nostr_npub=None, marker_present=False, marker_empty=False, marker_pubkey=None)
    if action != "none" and not module.check_mode:
        method = "identity.clear-nostr-revocation" if action == "clear_marker" else "identity.create-nostr-key"
        client.call(method)
        after = nostr_state(client.call_dict("node.nostr-pubkey"))
        if plan_nostr(after)[0] != "none":
            module.fail_json(msg="%s did not repair the Nostr identity: %s" % (method, plan_nostr(after)[1]),
                             rpc_calls=client.calls)
    result = {"changed": action != "none", "repair": action, "reason": reason,
              "nostr_pubkey": after["nostr_pubkey"], "nostr_npub": after["nostr_npub"]}
    diff = {"before": nostr_view(before), "after": nostr_view(after)}
    if presence:
        result["presence"] = publish_presence(module, client, presence, after["nostr_pubkey"], diff)
        result["changed"] = result["changed"] or any(
            r["state"] in ("published", "would_publish") for r in result["presence"]["relays"])
    if module._diff:
        result["diff"] = diff
    return result


def presence_facts(client, presence):
    """(did, address, version) for the record: the options, or the node's own."""
    did = presence["did"] or client.call_dict("node.did", keys=("did",)).get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise nostr.NostrError("node.did answered no DID (%r); set presence.did" % (did,))
    address = presence["address"]
    if not address:
        services = client.call_list("tor.list-services", keys=("name", "onion"))
        onions = [s.get("onion") for s in services if s.get("name") == "archipelago" and s.get("onion")]
        if not onions:
            raise nostr.NostrError("the backend lists no Tor service named archipelago (tor.list-services); "
                                   "set presence.address")
        address = onions[0]
    problem = nostr.check_presence_options(presence["relays"], address, presence["private_relays"], 1)
    if problem:
        raise nostr.NostrError(problem)
    version = presence["version"]
    if version is None:
        version = client.call_dict("health").get("version")
        version = version if isinstance(version, str) else None
    return did, address, version


def publish_presence(module, client, presence, pubkey, diff):
    p = module.params
    end = time.monotonic() + deadlines.budget_for(p["timeout"], p["retries"])
    try:
        did, address, version = presence_facts(client, presence)
    except nostr.NostrError as exc:
        module.fail_json(msg=str(exc), rpc_calls=client.calls)
    content = nostr.presence_content(did, address, version)
    view = {"content": {"did": did, "node_address": address, "version": version}, "event_id": None}
    relays = presence["relays"]
    if pubkey is None:   # check mode, the key would be created first: every relay gets a new record
        view["relays"] = [{"url": u, "state": "would_publish", "reason": "the node's new key has no record yet"}
                          for u in relays]
        return view
    reads = {}
    for url in relays:
        try:
            reads[url] = nostr.read_presence(url, pubkey, p["timeout"], end)
        except nostr.NostrError as exc:
            reads[url] = exc
    now = time.time()
    states = nostr.relay_states(reads, content, presence["topic"], now, presence["max_age"])
    diff["before"]["presence"] = dict((s["url"], s["state"]) for s in states)
    todo = [s for s in states if s["state"] in ("missing", "stale")]
    current = [s for s in states if s["state"] == "current"]
    if current:
        view["event_id"] = reads[current[0]["url"]][0]["id"]
    if todo and module.check_mode:
        for s in todo:
            s["state"] = "would_publish"
    elif todo:
        unsigned = nostr.presence_unsigned(pubkey, content, presence["topic"], nostr.next_created_at(now, states))
        event = client.call_dict("identity.nostr-sign", {"id": "presence", "event": unsigned})
        problem = nostr.event_problem(event)
        if problem or event.get("pubkey") != pubkey or event.get("content") != content \
                or event.get("tags") != unsigned["tags"] or event.get("kind") != nostr.PRESENCE_KIND:
            module.fail_json(msg="identity.nostr-sign returned an event that is not the presence record it was "
                                 "asked to sign with key %s (%s)" % (pubkey, problem or "other fields"),
                             rpc_calls=client.calls)
        view["event_id"] = event["id"]
        for s in todo:
            s.update(publish_one(s["url"], event, pubkey, content, presence, p["timeout"], end))
    view["relays"] = [{"url": s["url"], "state": s["state"], "reason": s["reason"]} for s in states]
    diff["after"]["presence"] = dict((s["url"], s["state"]) for s in states)
    held = [s for s in states if s["state"] in ("current", "published", "would_publish")]
    if len(held) < presence["min_relays"]:
        module.fail_json(msg="the presence record is on %d of the %d relays, fewer than presence.min_relays (%d): %s"
                             % (len(held), len(relays), presence["min_relays"],
                                "; ".join("%s %s: %s" % (s["url"], s["state"], s["reason"]) for s in states
                                          if s not in held)),
                         presence=view, rpc_calls=client.calls)
    return view


def publish_one(url, event, pubkey, content, presence, timeout, end):
    """Publish event to url and read it back: {state, reason}."""
    try:
        accepted, message = nostr.publish_to(url, event, timeout, end)
        if not accepted:
            return {"state": "refused", "reason": "the relay refused the record: %s" % (message or "no reason")}
        back = nostr.read_presence(url, pubkey, timeout, end)[0]
    except nostr.NostrError as exc:
        return {"state": "unreachable", "reason": str(exc)}
    if back is None or back["id"] != event["id"]:
        return {"state": "refused", "reason": "the relay accepted the record but does not return it"}
    return {"state": "published", "reason": "published and read back"}


def main():
    spec = rpc_argument_spec()
    spec.update(
        rotate=dict(type="bool", default=False),
        presence=dict(type="dict", options=dict(
            relays=dict(type="list", elements="str", required=True),
            did=dict(type="str"),
            address=dict(type="str"),
            version=dict(type="str"),
            topic=dict(type="str", default="archipelago"),
            max_age=dict(type="int", default=604800),
            min_relays=dict(type="int", default=1),
            private_relays=dict(type="bool", default=False),
        )),
    )
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
