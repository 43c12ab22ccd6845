"""The unit_states filter and the unit_up test: one systemctl show read, then only what is not up."""
from ansible_collections.archipelago.node.plugins.filter.systemd import unit_states
from ansible_collections.archipelago.node.plugins.test.units import unit_up
from ansible_collections.archipelago.node.plugins.test.apps import image_pinned


def test_unit_states_and_unit_up():
    out = ("Id=a.service\nActiveState=active\nUnitFileState=enabled\n\n"
           "Id=b.service\nActiveState=inactive\nUnitFileState=\n\n"
           "Id=c.target\nActiveState=active\nUnitFileState=disabled\n")
    states = unit_states(out)
    assert set(states) == {"a.service", "b.service", "c.target"}
    assert unit_up(states["a.service"]) and not unit_up(states["b.service"]) and not unit_up(states["c.target"])
    assert not unit_up({}) and not unit_up(None)
    assert unit_states("") == {}


def test_image_pinned_test_plugin():
    assert image_pinned("docker.io/library/tor:0.4.8.13")
    assert not image_pinned("docker.io/library/tor:latest")
    assert not image_pinned(None) and not image_pinned(["x:1"])
