# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""systemd's `systemctl show` output as data."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def unit_states(text):
    """{unit: {property: value}} from `systemctl show --property=Id,... UNIT...`: one block of
    Key=Value lines per unit, blocks separated by a blank line, each naming its Id."""
    if not isinstance(text, str):
        raise AnsibleFilterError("unit_states expects the text systemctl show printed, not %s" % type(text).__name__)
    units = {}
    for block in text.strip().split("\n\n"):
        props = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        if props.get("Id"):
            units[props["Id"]] = props
    return units


class FilterModule(object):
    def filters(self):
        return {"unit_states": unit_states}
