# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Filters over the app model (plugin_utils/apps.py): app_model composes it from the catalogue
and the inventory, app_plan validates and orders it, app_budget sums its memory per tier,
app_exec_start renders one app's podman run line for its systemd unit."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.archipelago.node.plugins.module_utils import adopt
from ansible_collections.archipelago.node.plugins.plugin_utils import apps as model


def app_plan(apps, selected=model.SELECTION_TIERS, networks=None):
    try:
        return model.plan(apps, list(selected), list(networks or []))
    except model.AppModelError as exc:
        raise AnsibleFilterError("app model: %s" % exc)


def app_model(apps, catalogue=(), picks=(), overrides=None, owned=None):
    try:
        return model.compose(list(apps or []), list(catalogue or []), list(picks or []),
                             dict(overrides or {}), dict(owned or {}))
    except model.AppModelError as exc:
        raise AnsibleFilterError("app model: %s" % exc)


def app_budget(plan):
    try:
        return model.budget(plan["apps"] if isinstance(plan, dict) else [model.normalize_app(a) for a in plan])
    except model.AppModelError as exc:
        raise AnsibleFilterError("app model: %s" % exc)


def app_record(app, env_names=()):
    return adopt.record_of(dict(app), list(env_names or []))


def app_exec_start(app, env_file, log_file):
    return model.exec_line(model.run_args(app, env_file, log_file))


def app_health_timeout(app, slack=60):
    return model.health_timeout(app, slack)


def app_web_route(app):
    """{id, port} of an app's first loopback-published port (served by nginx under /app/<id>/), or None."""
    for port in (app or {}).get("ports") or []:
        if str(port.get("bind", "127.0.0.1")) == "127.0.0.1":
            return {"id": app.get("id"), "port": port.get("host")}
    return None


class FilterModule(object):
    def filters(self):
        return {"app_plan": app_plan, "app_model": app_model, "app_budget": app_budget,
                "app_record": app_record, "app_exec_start": app_exec_start,
                "app_health_timeout": app_health_timeout,
                "app_web_route": app_web_route}
