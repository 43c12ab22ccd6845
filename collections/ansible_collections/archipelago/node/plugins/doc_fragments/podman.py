# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  podman:
    description: The Podman command (rootful Podman needs become).
    type: str
    default: podman
  timeout:
    description: Seconds each Podman run may take, from 1 to 600.
    type: int
    default: 60
"""
