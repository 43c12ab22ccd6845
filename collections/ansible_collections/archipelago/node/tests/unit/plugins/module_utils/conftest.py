"""Fixtures of the module_utils tests (the hostile HTTP peer lives in hostile_peer.py)."""
from ansible_collections.archipelago.node.tests.unit.plugins.module_utils.hostile_peer import raw_http  # noqa: F401 pylint: disable=unused-import
