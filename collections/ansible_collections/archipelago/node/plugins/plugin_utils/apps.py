# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The app model: one definition per app (close to Archipelago's apps/<id>/manifest.yml) from
which the role derives the container's run arguments, its systemd unit, its
health check, limits, start order, published ports and log file.

Pure functions, no Ansible imports: the filter plugin and the unit tests call them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.archipelago.node.plugins.module_utils.adopt import (
    ENV_NAME_RE, HEALTH_DEFAULTS, ID_RE, SECURITY_DEFAULTS, STARTUP_TIERS, health_test, image_pinned, merge)

SELECTION_TIERS = ("core", "recommended", "optional")
HEALTH_TYPES = ("exec", "http", "tcp")
VOLUME_TYPES = ("volume", "bind")

_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmg]?$", re.IGNORECASE)
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
_CAP = re.compile(r"^(CAP_)?[A-Z_]+$")

UNIT_PREFIX = "archy-app-"
APPS_TARGET = "archipelago-apps.target"


class AppModelError(ValueError):
    """Bad app model input; the message says which app and what to change."""


def unit_name(app_id):
    return UNIT_PREFIX + app_id + ".service"


def _need(cond, msg):
    if not cond:
        raise AppModelError(msg)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _environment(app_id, env):
    """Environment as an ordered list of (name, value); a mapping or a list of {name, value}."""
    pairs = []
    if isinstance(env, dict):
        pairs = [(str(k), env[k]) for k in sorted(env)]
    else:
        for item in _as_list(env):
            _need(isinstance(item, dict) and "name" in item,
                  "app %s: environment entries are {name, value} mappings" % app_id)
            pairs.append((str(item["name"]), item.get("value", "")))
    for name, value in pairs:
        _need(ENV_NAME_RE.match(name), "app %s: %r is not an environment variable name" % (app_id, name))
        _need(isinstance(value, (str, int, float, bool)),
              "app %s: environment %s must be a scalar" % (app_id, name))
    return [(n, str(v)) for n, v in pairs]


def _health(app_id, hc):
    _need(isinstance(hc, dict) and hc, "app %s: health_check is required (CONT-03): give type exec, "
          "http or tcp" % app_id)
    kind = hc.get("type", "exec")
    _need(kind in HEALTH_TYPES, "app %s: health_check.type %r is not one of %s"
          % (app_id, kind, ", ".join(HEALTH_TYPES)))
    if kind == "exec":
        _need(hc.get("command"), "app %s: an exec health_check needs command" % app_id)
    else:
        port = hc.get("port")
        _need(isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536,
              "app %s: a %s health_check needs port (1-65535)" % (app_id, kind))
        if kind == "http":
            _need(str(hc.get("path", "/")).startswith("/"), "app %s: health_check.path must start with /" % app_id)
    out = {"test": health_test(hc)}
    for key in ("interval", "timeout", "start_period"):
        val = str(hc.get(key, HEALTH_DEFAULTS[key]))
        _need(_DURATION.match(val), "app %s: health_check.%s %r is not a duration like 30s" % (app_id, key, val))
        out[key] = val
    retries = hc.get("retries", HEALTH_DEFAULTS["retries"])
    _need(isinstance(retries, int) and retries > 0, "app %s: health_check.retries must be a positive integer" % app_id)
    out["retries"] = retries
    return out


def _ports(app_id, ports):
    out = []
    for p in _as_list(ports):
        _need(isinstance(p, dict) and "host" in p and "container" in p,
              "app %s: ports entries are {host, container, bind}" % app_id)
        for key in ("host", "container"):
            _need(isinstance(p[key], int) and 0 < p[key] < 65536,
                  "app %s: port %s %r is not 1-65535" % (app_id, key, p[key]))
        proto = p.get("protocol", "tcp")
        _need(proto in ("tcp", "udp"), "app %s: port protocol %r is not tcp or udp" % (app_id, proto))
        # Published ports bypass UFW (netavark NATs them before INPUT): loopback unless the
        # model says otherwise, so nginx is the only way in.
        bind = str(p.get("bind", "127.0.0.1"))
        out.append({"host": p["host"], "container": p["container"], "bind": bind, "protocol": proto,
                    "spec": "%s:%d:%d/%s" % (bind, p["host"], p["container"], proto)})
    return out


def _volumes(app_id, vols):
    out = []
    for v in _as_list(vols):
        _need(isinstance(v, dict) and v.get("source") and v.get("target"),
              "app %s: volumes entries are {type, source, target}" % app_id)
        kind = v.get("type", "volume")
        _need(kind in VOLUME_TYPES, "app %s: volume type %r is not volume or bind" % (app_id, kind))
        _need(str(v["target"]).startswith("/"), "app %s: volume target %r is not absolute" % (app_id, v["target"]))
        if kind == "bind":
            _need(str(v["source"]).startswith("/"), "app %s: bind source %r is not absolute" % (app_id, v["source"]))
        spec = "%s:%s" % (v["source"], v["target"])
        if v.get("readonly"):
            spec += ":ro"
        out.append({"type": kind, "source": str(v["source"]), "target": str(v["target"]),
                    "readonly": bool(v.get("readonly")), "spec": spec})
    return out


def normalize_app(app):
    """One app definition -> the normalized dict the role renders from. Raises AppModelError."""
    _need(isinstance(app, dict), "every app is a mapping with at least id, container, resources and health_check")
    app_id = app.get("id")
    _need(isinstance(app_id, str) and ID_RE.match(app_id),
          "app id %r must be lower case letters, digits, '.', '_' or '-'" % (app_id,))
    tier = app.get("tier", "core")
    _need(tier in SELECTION_TIERS, "app %s: tier %r is not one of %s" % (app_id, tier, ", ".join(SELECTION_TIERS)))
    startup = app.get("startup_tier")
    _need(startup in STARTUP_TIERS, "app %s: startup_tier %r is not one of %s"
          % (app_id, startup, ", ".join(STARTUP_TIERS)))
    c = app.get("container") or {}
    image = c.get("image")
    _need(isinstance(image, str) and image, "app %s: container.image is required" % app_id)
    _need(image_pinned(image), "app %s: image %s is not pinned; name a version tag or a @sha256 digest, "
          "never :latest (SEC-04)" % (app_id, image))
    networks = [str(n) for n in _as_list(c.get("network"))]
    res = app.get("resources") or {}
    mem = res.get("memory_limit")
    _need(mem is not None and _SIZE.match(str(mem)),
          "app %s: resources.memory_limit is required (CONT-05), e.g. 512m or 2g" % app_id)
    cpu = res.get("cpu_limit")
    if cpu is not None:
        _need(isinstance(cpu, (int, float)) and cpu > 0, "app %s: resources.cpu_limit must be a positive number" % app_id)
    sec = app.get("security") or {}
    caps = []
    for cap in _as_list(sec.get("capabilities")):
        cap = str(cap).upper()
        _need(_CAP.match(cap) and cap not in ("ALL", "CAP_ALL"),
              "app %s: capability %r: name single capabilities (e.g. CHOWN), never ALL" % (app_id, cap))
        caps.append(cap if cap.startswith("CAP_") else "CAP_" + cap)
    deps = []
    for d in _as_list(app.get("dependencies")):
        dep = d.get("app_id") if isinstance(d, dict) else d
        _need(isinstance(dep, str) and dep, "app %s: dependencies are app ids or {app_id}" % app_id)
        deps.append(dep)
    cmd = c.get("command")
    env_file = app.get("environment_file")
    _need(env_file is None or (isinstance(env_file, str) and env_file.startswith("/") and "\n" not in env_file),
          "app %s: environment_file %r is not an absolute path on the node" % (app_id, env_file))
    return {
        "id": app_id,
        "name": str(app.get("name", app_id)),
        "tier": tier,
        "startup_tier": startup,
        "tier_index": STARTUP_TIERS.index(startup),
        "unit": unit_name(app_id),
        "image": image,
        "networks": networks,
        "user": str(c["user"]) if c.get("user") is not None else None,
        "command": [str(x) for x in _as_list(cmd)] if cmd is not None else [],
        "memory_limit": str(mem).lower(),
        "cpu_limit": cpu,
        "capabilities": sorted(set(caps)),
        "readonly_root": bool(sec.get("readonly_root", SECURITY_DEFAULTS["readonly_root"])),
        "no_new_privileges": bool(sec.get("no_new_privileges", SECURITY_DEFAULTS["no_new_privileges"])),
        "tmpfs": [str(t) for t in _as_list(sec.get("tmpfs"))],
        "dependencies": deps,
        "ports": _ports(app_id, app.get("ports")),
        "volumes": _volumes(app_id, app.get("volumes")),
        "environment": _environment(app_id, app.get("environment")),
        "environment_file": env_file,
        "health": _health(app_id, app.get("health_check")),
    }


def compose(apps, catalogue=(), picks=(), overrides=None, owned=None):
    """The node's app model from the catalogue and the inventory: the picked catalogue apps (in
    the catalogue's order), each with its override laid over it, then the inventory's own apps
    (an override may change those too). Raises AppModelError for a pick that is not in the
    catalogue, an app both picked and defined, an override of an app that is not in the model,
    and an app another role runs (owned: {id: role})."""
    _need(isinstance(apps, list), "archipelago_apps is a list of apps")
    _need(isinstance(picks, (list, tuple)), "archipelago_catalogue_apps is a list of app ids")
    overrides = {} if overrides is None else overrides
    _need(isinstance(overrides, dict), "archipelago_app_overrides maps app ids to the keys to change")
    owned = owned or {}
    known = {}
    for entry in catalogue:
        _need(isinstance(entry, dict) and isinstance(entry.get("id"), str), "every catalogue entry has an id")
        known[entry["id"]] = entry
    seen = set()
    for pick in picks:
        _need(isinstance(pick, str), "archipelago_catalogue_apps: %r is not an app id" % (pick,))
        _need(pick not in owned, "archipelago_catalogue_apps: %s is run by the %s role, not as an app"
              % (pick, owned.get(pick)))
        _need(pick in known, "archipelago_catalogue_apps: %s is not in the catalogue (it has %s); define "
              "it in archipelago_apps instead" % (pick, ", ".join(sorted(known))))
        _need(pick not in seen, "archipelago_catalogue_apps names %s twice" % pick)
        seen.add(pick)
    chosen = [known[i] for i in known if i in seen]
    for app in apps:
        app_id = app.get("id") if isinstance(app, dict) else None
        _need(app_id not in seen, "app %s is both picked from the catalogue and defined in archipelago_apps; "
              "keep the pick and put the keys to change in archipelago_app_overrides" % app_id)
        _need(app_id not in owned, "archipelago_apps: %s is run by the %s role, not as an app"
              % (app_id, owned.get(app_id)))
    ids = [a["id"] for a in chosen] + [a.get("id") for a in apps if isinstance(a, dict)]
    for app_id, change in sorted(overrides.items()):
        _need(app_id in ids, "archipelago_app_overrides: %s is not an app of the model (picked or defined)"
              % app_id)
        _need(isinstance(change, dict), "archipelago_app_overrides: %s maps to the keys to change" % app_id)
        _need("id" not in change or change["id"] == app_id, "archipelago_app_overrides: %s cannot change the "
              "app's id" % app_id)
    return [merge(a, overrides[a.get("id")]) if isinstance(a, dict) and a.get("id") in overrides else a
            for a in list(chosen) + list(apps)]


def memory_bytes(size):
    """A memory_limit (512m, 2g, 1.5g, 1048576) in bytes."""
    m = _SIZE.match(str(size))
    _need(m, "%r is not a size like 512m or 2g" % (size,))
    text = str(size).lower()
    unit = text[-1] if text[-1] in "bkmg" else "b"
    number = float(text[:-1] if text[-1] in "bkmg" else text)
    return int(number * {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit])


def budget(apps):
    """SCALE-01/02: memory limits per selection tier, and what each cumulative selection needs:
    {"tiers": {tier: {"apps": n, "memory_bytes": b}}, "selections": {"core": b, "core+recommended": b,
    "core+recommended+optional": b}}. apps are normalized apps (plan()["apps"] or normalize_app)."""
    tiers = {t: {"apps": 0, "memory_bytes": 0} for t in SELECTION_TIERS}
    for app in apps:
        tiers[app["tier"]]["apps"] += 1
        tiers[app["tier"]]["memory_bytes"] += memory_bytes(app["memory_limit"])
    selections, total = {}, 0
    for i, tier in enumerate(SELECTION_TIERS):
        total += tiers[tier]["memory_bytes"]
        selections["+".join(SELECTION_TIERS[:i + 1])] = total
    return {"tiers": tiers, "selections": selections}


def _find_cycle(apps):
    """A dependency cycle as a list of ids (first == last), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in apps[node]["dependencies"]:
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = "done"
        return None

    for app_id in sorted(apps):
        if app_id not in state:
            found = visit(app_id, [app_id])
            if found:
                return found
    return None


def plan(apps, selected=SELECTION_TIERS, networks=()):
    """Validate the whole model and order it.

    Returns {"apps": [normalized app in start order, with "after"/"wants" units],
    "tiers": [{"name", "apps": [ids], "units": [...]}], "skipped": [ids not selected]}.
    Raises AppModelError naming the app and the fix."""
    _need(isinstance(apps, list), "the app model is a list of apps")
    for t in selected:
        _need(t in SELECTION_TIERS, "selected tier %r is not one of %s" % (t, ", ".join(SELECTION_TIERS)))
    by_id = {}
    for raw in apps:
        app = normalize_app(raw)
        _need(app["id"] not in by_id, "app %s is defined twice" % app["id"])
        by_id[app["id"]] = app
    known_nets = set(networks)
    ports_seen = {}
    for app in by_id.values():
        for dep in app["dependencies"]:
            _need(dep in by_id, "app %s depends on unknown app %s; define it or remove the dependency"
                  % (app["id"], dep))
            _need(dep != app["id"], "app %s depends on itself" % app["id"])
            mine, theirs = set(app["networks"] or ["podman"]), set(by_id[dep]["networks"] or ["podman"])
            _need("host" in mine | theirs or mine & theirs,
                  "app %s depends on %s, but they share no network (%s and %s): %s cannot reach %s by name; put "
                  "them on one network" % (app["id"], dep, ", ".join(sorted(mine)), ", ".join(sorted(theirs)),
                                           app["id"], dep))
            _need(by_id[dep]["tier_index"] <= app["tier_index"],
                  "app %s (startup tier %s) depends on %s (startup tier %s): a dependency must start in "
                  "the same or an earlier tier" % (app["id"], app["startup_tier"], dep, by_id[dep]["startup_tier"]))
        if known_nets:
            for net in app["networks"]:
                _need(net in known_nets or net == "host", "app %s uses network %s which is not in the networks list" % (app["id"], net))
        for p in app["ports"]:
            key = (p["host"], p["protocol"])
            _need(key not in ports_seen, "apps %s and %s both publish host port %d/%s"
                  % (ports_seen.get(key), app["id"], p["host"], p["protocol"]))
            ports_seen[key] = app["id"]
    cycle = _find_cycle(by_id)
    _need(cycle is None, "dependency cycle: %s" % (" -> ".join(cycle or [])))
    chosen = {i: a for i, a in by_id.items() if a["tier"] in selected}
    for app in chosen.values():
        for dep in app["dependencies"]:
            _need(dep in chosen, "app %s (tier %s) depends on %s (tier %s), which is not selected; add %s to "
                  "the selected tiers or drop %s"
                  % (app["id"], app["tier"], dep, by_id[dep]["tier"], by_id[dep]["tier"], app["id"]))
    # Start order: by startup tier, then dependencies first within a tier, then by id.
    ordered, done = [], set()

    def place(app_id):
        if app_id in done:
            return
        for dep in sorted(chosen[app_id]["dependencies"]):
            if chosen[dep]["tier_index"] == chosen[app_id]["tier_index"]:
                place(dep)
        done.add(app_id)
        ordered.append(chosen[app_id])

    for app_id in sorted(chosen, key=lambda i: (chosen[i]["tier_index"], i)):
        place(app_id)
    tiers = []
    for name in STARTUP_TIERS:
        ids = [a["id"] for a in ordered if a["startup_tier"] == name]
        if ids:
            tiers.append({"name": name, "apps": ids, "units": [unit_name(i) for i in ids]})
    previous = {}
    for i, tier in enumerate(tiers):
        previous[tier["name"]] = tiers[i - 1]["units"] if i else []
    for app in ordered:
        deps = [unit_name(d) for d in app["dependencies"]]
        app["wants"] = deps
        app["after"] = sorted(set(deps + previous[app["startup_tier"]]))
    return {"apps": ordered, "tiers": tiers, "defined": sorted(by_id),
            "skipped": sorted(i for i in by_id if i not in chosen)}


def _sd_quote(arg):
    """One argument for a systemd Exec line: specifiers and variables escaped, quoted if needed."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_args(app, env_file, log_file):
    """podman run arguments (after `podman run` and the unit's fixed ones) for the app."""
    args = ["--name", app["id"], "--label", "io.archipelago.app=" + app["id"],
            "--label", "io.archipelago.tier=" + app["startup_tier"]]
    for net in app["networks"]:
        args += ["--network", net]
    args += ["--memory", app["memory_limit"]]
    if app["cpu_limit"] is not None:
        args += ["--cpus", str(app["cpu_limit"])]
    args += ["--cap-drop", "ALL"]
    for cap in app["capabilities"]:
        args += ["--cap-add", cap]
    if app["no_new_privileges"]:
        args += ["--security-opt", "no-new-privileges"]
    if app["readonly_root"]:
        args += ["--read-only"]
    for t in app["tmpfs"]:
        args += ["--tmpfs", t]
    if app["user"]:
        args += ["--user", app["user"]]
    if app["environment"]:
        args += ["--env-file", env_file]
    if app.get("environment_file"):
        # The node's own file (adoption keeps an adopted app's values there); read by Podman only.
        args += ["--env-file", app["environment_file"]]
    h = app["health"]
    args += ["--health-cmd", h["test"], "--health-interval", h["interval"], "--health-timeout", h["timeout"],
             "--health-retries", str(h["retries"]), "--health-start-period", h["start_period"],
             "--health-on-failure", "kill"]
    args += ["--log-driver", "k8s-file", "--log-opt", "path=" + log_file]
    for p in app["ports"]:
        args += ["--publish", p["spec"]]
    for v in app["volumes"]:
        args += ["--volume", v["spec"]]
    return args + [app["image"]] + app["command"]


def exec_line(args):
    return " ".join(_sd_quote(a) for a in args)


def health_timeout(app, slack=60):
    """Seconds a start may take to become healthy: start period plus retries of interval+timeout."""
    def sec(d):
        m = re.match(r"^([0-9]+)(ms|s|m|h)$", d)
        n, unit = int(m.group(1)), m.group(2)
        return {"ms": n / 1000.0, "s": n, "m": n * 60, "h": n * 3600}[unit]
    h = app["health"]
    return int(sec(h["start_period"]) + h["retries"] * (sec(h["interval"]) + sec(h["timeout"])) + slack)
