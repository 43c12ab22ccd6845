# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: image_pinned
short_description: Whether a container image reference names one version
version_added: 0.2.0
description:
  - True when the reference has a tag other than C(latest) (C(docker.io/library/tor:0.4.8.13)) or a
    digest (C(...@sha256:...)); false for no tag and for C(latest), whose content changes under the
    same name.
  - The app model (P(archipelago.node.app_plan#filter)) refuses apps whose image is not pinned; the
    tor role checks its image with this test.
positional: _input
options:
  _input:
    description: An image reference.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The Tor image names a version
  ansible.builtin.assert:
    that: tor_image is archipelago.node.image_pinned
    fail_msg: "tor_image {{ tor_image }} is not pinned: name a version tag or a @sha256 digest"
"""

RETURN = r"""
_value:
  description: Whether the image reference is pinned.
  type: bool
"""

from ansible_collections.archipelago.node.plugins.plugin_utils import apps


def image_pinned(image):
    return isinstance(image, str) and apps.image_pinned(image)


class TestModule(object):
    def tests(self):
        return {"image_pinned": image_pinned}
