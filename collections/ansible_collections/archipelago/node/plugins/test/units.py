# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: unit_up
short_description: Whether a systemd unit is active and enabled
version_added: 0.2.0
description:
  - True for a unit's properties, as the P(archipelago.node.unit_states#filter) filter reads them
    from C(systemctl show), whose C(ActiveState) is C(active) and whose C(UnitFileState) is
    C(enabled); such a unit needs no start and no enable. An absent entry (V({})) is not up.
positional: _input
options:
  _input:
    description: One unit's properties (C(ActiveState), C(UnitFileState)), or V({}).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Start the unit only when it is not already up
  ansible.builtin.systemd_service:
    name: archy-app-electrs.service
    state: started
    enabled: true
  when: not (units_now.stdout | archipelago.node.unit_states)['archy-app-electrs.service'] is archipelago.node.unit_up
"""

RETURN = r"""
_value:
  description: Whether the unit is running and enabled.
  type: bool
"""


def unit_up(entry):
    return isinstance(entry, dict) and entry.get("ActiveState") == "active" and entry.get("UnitFileState") == "enabled"


class TestModule(object):
    def tests(self):
        return {"unit_up": unit_up}
