# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The error every part of did:dht raises (module_utils/did_dht.py and the modules it builds on)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class DidDhtError(Exception):
    """Bad input or a record that fails a check; the message says which and why."""
