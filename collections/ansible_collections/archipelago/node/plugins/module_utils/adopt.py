# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Adoption: the app model of what a node already runs, from its manifests (Archipelago v1.8+,
apps/<id>/manifest.yml) and its containers (podman inspect), matched against the catalogue.

Pure functions over parsed data; the app_model_info module reads the node and calls them, the
unit tests call them with recorded inspect output. Environment values never enter a result:
only their names do (the values stay on the node, app_environment keeps them there)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re
import shlex

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit  # type: ignore

MANIFEST_MAX_BYTES = 256 * 1024
MANIFESTS_MAX = 500
LABEL_APP = "io.archipelago.app"
LABEL_TIER = "io.archipelago.tier"
# The app model's names, tiers and defaults, shared with plugin_utils/apps.py (which validates
# and renders the model on the controller) and the modules on the node.
STARTUP_TIERS = ("db", "core", "dependent", "app", "ui")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECURITY_DEFAULTS = {"capabilities": [], "readonly_root": True, "no_new_privileges": True}
HEALTH_DEFAULTS = {"interval": "30s", "timeout": "10s", "start_period": "10s", "retries": 3}
_ID, _ENV_NAME = ID_RE, ENV_NAME_RE
_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h)?$")
# Podman's default capabilities: a container whose CapDrop holds all of them (less its CapAdd)
# was started with --cap-drop ALL (Podman lists the dropped ones one by one).
DEFAULT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                "SETPCAP", "SETUID", "SYS_CHROOT")
# Podman mounts these as tmpfs in every read-only container (--read-only-tmpfs).
READONLY_TMPFS = ("/run", "/tmp", "/var/tmp")


class AdoptError(ValueError):
    """Input from the node that cannot be adopted; the message names the file or container."""


def _shaped(what):
    """Decorator: a value of an unexpected type deep in podman's or a manifest's data becomes an
    AdoptError naming what was read, not a TypeError from wherever it was used."""
    def wrap(func):
        def inner(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
                raise AdoptError("%s has an unexpected shape (%s: %s)" % (what(*args), type(exc).__name__, exc))
        inner.__doc__ = func.__doc__
        inner.__name__ = func.__name__
        return inner
    return wrap


def _container_name(inspect, *rest):
    name = inspect.get("Name") if isinstance(inspect, dict) else None
    return "podman inspect of container %s" % (name if isinstance(name, str) else "?")


def merge(base, change):
    """base with change laid over it: mappings merge key by key, anything else is replaced."""
    if not isinstance(base, dict) or not isinstance(change, dict):
        return copy.deepcopy(change)
    out = copy.deepcopy(base)
    for key, value in change.items():
        out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
    return out


def image_pinned(image):
    """True when the reference names a version: a tag other than latest, or a digest."""
    if not isinstance(image, str):
        return False
    if "@" in image:
        return bool(re.search(r"@sha256:[0-9a-f]{64}$", image))
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    return last.rsplit(":", 1)[1] not in ("", "latest")


def size_text(nbytes):
    """Bytes as the model writes a memory limit: 2g, 512m, 64k or a plain number."""
    for unit, factor in (("g", 1024 ** 3), ("m", 1024 ** 2), ("k", 1024)):
        if nbytes % factor == 0:
            return "%d%s" % (nbytes // factor, unit)
    return str(nbytes)


def duration_text(value, what):
    """A duration from a manifest (30, "30", "30s") or podman (nanoseconds) as the model's "30s"."""
    if isinstance(value, bool) or value is None:
        raise AdoptError("%s: %r is not a duration" % (what, value))
    if isinstance(value, (int, float)):
        if value < 0:
            raise AdoptError("%s: %r is negative" % (what, value))
        return "%ds" % int(value)
    m = _DURATION.match(str(value).strip())
    if not m:
        raise AdoptError("%s: %r is not a duration like 30s" % (what, value))
    return m.group(1) + (m.group(2) or "s")


def _nanos_text(ns):
    if not isinstance(ns, int) or isinstance(ns, bool) or ns <= 0:
        return None
    if ns % 1000000000 == 0:
        return "%ds" % (ns // 1000000000)
    return "%dms" % max(1, ns // 1000000)


def _env_names(entries, what):
    """Names of an environment given as a mapping, a list of NAME=value strings or of {name, value}."""
    names = []
    if isinstance(entries, dict):
        names = [str(k) for k in entries]
    elif isinstance(entries, list):
        for item in entries:
            if isinstance(item, dict) and "name" in item:
                names.append(str(item["name"]))
            elif isinstance(item, str):
                names.append(item.split("=", 1)[0])
            else:
                raise AdoptError("%s: environment entry %r is neither NAME=value nor {name, value}" % (what, item))
    elif entries is not None:
        raise AdoptError("%s: environment is neither a list nor a mapping" % what)
    for name in names:
        if not _ENV_NAME.match(name):
            raise AdoptError("%s: %r is not an environment variable name" % (what, name))
    return sorted(set(names))


# --- manifests -------------------------------------------------------------------------------

@_shaped(lambda doc, path: "manifest %s" % path)
def manifest_app(doc, path):
    """One parsed manifest.yml -> (app model entry without environment values, environment names).
    Raises AdoptError naming the file."""
    if not isinstance(doc, dict) or not isinstance(doc.get("app"), dict):
        raise AdoptError("%s: a manifest is a mapping with an app: mapping" % path)
    app = doc["app"]
    app_id = app.get("id")
    if not isinstance(app_id, str) or not _ID.match(app_id):
        raise AdoptError("%s: app.id %r is not an app id" % (path, app_id))
    what = "%s (app %s)" % (path, app_id)
    out = {"id": app_id}
    if app.get("name") is not None:
        out["name"] = str(app["name"])
    for key in ("tier", "startup_tier"):
        if app.get(key) is not None:
            out[key] = str(app[key])
    container = app.get("container")
    if container is not None:
        if not isinstance(container, dict):
            raise AdoptError("%s: container is not a mapping" % what)
        out["container"] = {k: copy.deepcopy(v) for k, v in container.items()
                            if k in ("image", "network", "user", "command")}
    deps = []
    for dep in app.get("dependencies") or []:
        dep_id = dep.get("app_id") if isinstance(dep, dict) else dep
        if not isinstance(dep_id, str) or not dep_id:
            raise AdoptError("%s: dependencies are {app_id, version} entries" % what)
        deps.append({"app_id": dep_id})
    if deps:
        out["dependencies"] = deps
    for key in ("resources", "security"):
        if app.get(key) is not None:
            if not isinstance(app[key], dict):
                raise AdoptError("%s: %s is not a mapping" % (what, key))
            out[key] = copy.deepcopy(app[key])
    for key in ("ports", "volumes"):
        if app.get(key) is not None:
            if not isinstance(app[key], list):
                raise AdoptError("%s: %s is not a list" % (what, key))
            out[key] = copy.deepcopy(app[key])
    if app.get("health_check") is not None:
        out["health_check"] = manifest_health(app["health_check"], what)
    return out, _env_names(app.get("environment"), what)


def manifest_health(hc, what):
    """A manifest's health_check {type: http|exec, endpoint, path, interval, timeout, retries} in
    the model's shape (http: port and path; exec: command)."""
    if not isinstance(hc, dict):
        raise AdoptError("%s: health_check is not a mapping" % what)
    kind = hc.get("type", "exec")
    out = {"type": kind}
    endpoint = hc.get("endpoint")
    if kind == "http":
        port, path = hc.get("port"), hc.get("path")
        if isinstance(endpoint, int) and not isinstance(endpoint, bool):
            port = endpoint
        elif isinstance(endpoint, str) and endpoint:
            parts = urlsplit(endpoint if "//" in endpoint else "http://" + endpoint)
            try:
                port = parts.port or port or 80
            except ValueError:
                raise AdoptError("%s: health_check.endpoint %r has no valid port" % (what, endpoint))
            path = path or parts.path or "/"
        out["port"], out["path"] = port, path or "/"
    elif kind in ("exec", "tcp"):
        if kind == "exec":
            out["command"] = hc.get("command", endpoint)
        else:
            out["port"] = hc.get("port", endpoint)
    else:
        raise AdoptError("%s: health_check.type %r is not http, exec or tcp" % (what, kind))
    for key in ("interval", "timeout", "start_period"):
        if hc.get(key) is not None:
            out[key] = duration_text(hc[key], "%s: health_check.%s" % (what, key))
    if hc.get("retries") is not None:
        out["retries"] = hc["retries"]
    return out


# --- containers ------------------------------------------------------------------------------

def _get(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def health_test(hc):
    """The command Podman runs for a health check of the model: exec runs its command (a list is
    quoted word by word: Podman 4.3 takes --health-cmd as a shell line and splits a JSON array at
    its spaces), http asks the port and path with curl in the image, tcp opens the port with bash
    in the image. None when the check lacks what its type needs."""
    kind = hc.get("type", "exec")
    if kind == "exec":
        cmd = hc.get("command")
        if not cmd:
            return None
        return " ".join(shlex.quote(str(c)) for c in cmd) if isinstance(cmd, list) else str(cmd)
    port = hc.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return None
    if kind == "http":
        return "curl -fsS -o /dev/null --max-time 5 http://127.0.0.1:%d%s" % (port, hc.get("path", "/"))
    if kind == "tcp":
        return "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'" % port
    return None


def _cap(name):
    name = str(name).upper()
    return name[4:] if name.startswith("CAP_") else name


def _health_from_container(hc):
    test = _get(hc, "Test")
    if not isinstance(test, list) or not test or test[0] in ("NONE",):
        return None
    if test[0] == "CMD-SHELL" and len(test) > 1:
        command = str(test[1])
    elif test[0] == "CMD":
        # As the role writes it back (a shell line; Podman 4.3 takes --health-cmd so), so that a
        # second adoption reads the same check.
        command = " ".join(shlex.quote(str(t)) for t in test[1:])
    else:
        command = " ".join(str(t) for t in test)
    out = {"type": "exec", "command": command}
    for key, src in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        text = _nanos_text(hc.get(src))
        if text:
            out[key] = text
    if isinstance(hc.get("Retries"), int) and hc["Retries"] > 0:
        out["retries"] = hc["Retries"]
    return out


@_shaped(_container_name)
def container_app(inspect, image=None):
    """One container (podman inspect) -> facts in the app model's shape:
    {"app": partial app, "env_names": [...], "restart_policy": str, "state": str, "owned": bool}.
    image is the inspect of its image (its Env and Cmd are not the container's own)."""
    if not isinstance(inspect, dict):
        raise AdoptError("podman inspect returned %r, not a container" % (type(inspect).__name__,))
    name = str(inspect.get("Name") or "").lstrip("/")
    if not _ID.match(name):
        raise AdoptError("container %r: its name is not an app id" % name)
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    labels = config.get("Labels") or {}
    app = {"id": name, "container": {}}
    image_name = inspect.get("ImageName") or config.get("Image")
    if isinstance(image_name, str) and image_name:
        app["container"]["image"] = image_name
    mode = str(host.get("NetworkMode") or "")
    networks = sorted((_get(inspect, "NetworkSettings", "Networks") or {}).keys())
    if mode == "host":
        networks = ["host"]
    networks = [n for n in networks if n != "podman"] or networks
    if networks:
        app["container"]["network"] = networks[0] if len(networks) == 1 else networks
    user = config.get("User")
    image_user = _get(image, "Config", "User") or ""
    if user and user != image_user:
        app["container"]["user"] = str(user)
    cmd = config.get("Cmd")
    image_cmd = _get(image, "Config", "Cmd")
    if isinstance(cmd, list) and cmd and cmd != image_cmd and image is not None:
        app["container"]["command"] = [str(c) for c in cmd]
    memory = host.get("Memory")
    if isinstance(memory, int) and memory > 0:
        app.setdefault("resources", {})["memory_limit"] = size_text(memory)
    nano = host.get("NanoCpus")
    if isinstance(nano, int) and nano > 0:
        app.setdefault("resources", {})["cpu_limit"] = round(nano / 1e9, 3)
    cap_drop = set(_cap(c) for c in host.get("CapDrop") or [])
    cap_add = sorted(set(_cap(c) for c in host.get("CapAdd") or []))
    readonly = bool(host.get("ReadonlyRootfs"))
    security = {"readonly_root": readonly,
                "no_new_privileges": any(str(o).startswith("no-new-privileges") for o in host.get("SecurityOpt") or [])}
    if "ALL" in cap_drop or set(DEFAULT_CAPS) <= cap_drop | set(cap_add):
        security["capabilities"] = cap_add
    tmpfs = sorted(t for t in (host.get("Tmpfs") or {}) if not (readonly and t in READONLY_TMPFS))
    if tmpfs:
        security["tmpfs"] = tmpfs
    app["security"] = security
    ports = []
    for key, bindings in sorted((host.get("PortBindings") or {}).items()):
        container_port, proto = (str(key).split("/", 1) + [""])[:2]
        for b in bindings or []:
            try:
                entry = {"host": int(b.get("HostPort")), "container": int(container_port)}
            except (TypeError, ValueError, AttributeError):
                raise AdoptError("container %s: port binding %r %r is not a number" % (name, key, b))
            entry["bind"] = str(b.get("HostIp") or "0.0.0.0")
            if proto and proto != "tcp":
                entry["protocol"] = proto
            ports.append(entry)
    if ports:
        app["ports"] = ports
    volumes = []
    for m in inspect.get("Mounts") or []:
        kind, target = m.get("Type"), m.get("Destination")
        if kind == "volume" and m.get("Name"):
            entry = {"type": "volume", "source": str(m["Name"]), "target": str(target)}
        elif kind == "bind" and m.get("Source"):
            entry = {"type": "bind", "source": str(m["Source"]), "target": str(target)}
        else:
            continue
        if m.get("RW") is False:
            entry["readonly"] = True
        volumes.append(entry)
    if volumes:
        app["volumes"] = sorted(volumes, key=lambda v: v["target"])
    health = _health_from_container(config.get("Healthcheck"))
    if health:
        app["health_check"] = health
        # The image's own HEALTHCHECK is a default, not a choice made for this node.
        image_health = _get(image, "Config", "Healthcheck") or _get(image, "Healthcheck")
        own = not isinstance(image_health, dict) or image_health.get("Test") != config["Healthcheck"].get("Test")
    tier = labels.get(LABEL_TIER)
    if tier in STARTUP_TIERS:
        app["startup_tier"] = tier
    image_env = set(_get(image, "Config", "Env") or [])
    own_env = [e for e in config.get("Env") or [] if isinstance(e, str) and e not in image_env]
    env_names = sorted(set(e.split("=", 1)[0] for e in own_env) - {"container", "HOSTNAME", "HOME", "TERM"})
    return {"app": app, "env_names": env_names, "own_health": bool(health) and own,
            "restart_policy": str(_get(host, "RestartPolicy", "Name") or "no"),
            "state": str(_get(inspect, "State", "Status") or "unknown"),
            "owned": labels.get(LABEL_APP) == name}


# --- adoption --------------------------------------------------------------------------------

def _flat(data, prefix=""):
    """{"a.b": value} for the leaves of nested mappings (lists are leaves)."""
    out = {}
    for key, value in (data or {}).items():
        path = prefix + str(key)
        if isinstance(value, dict) and value:
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


def _norm_ports(ports):
    out = []
    for p in ports or []:
        if isinstance(p, dict):
            out.append({"host": p.get("host"), "container": p.get("container"),
                        "bind": str(p.get("bind", "127.0.0.1")), "protocol": p.get("protocol", "tcp")})
    return sorted(out, key=lambda p: (str(p["host"]), str(p["container"])))


def _norm_volumes(volumes):
    out = []
    for v in volumes or []:
        if isinstance(v, dict):
            out.append({"type": v.get("type", "volume"), "source": v.get("source"), "target": v.get("target"),
                        "readonly": bool(v.get("readonly"))})
    return sorted(out, key=lambda v: str(v["target"]))


def _comparable(app):
    """The keys adoption compares, normalized so that equal meanings compare equal."""
    flat = _flat({k: v for k, v in (app or {}).items()
                  if k in ("container", "resources", "security", "health_check", "tier", "startup_tier")})
    net = flat.get("container.network")
    if isinstance(net, str):
        flat["container.network"] = [net]
    caps = flat.get("security.capabilities")
    if isinstance(caps, list):
        flat["security.capabilities"] = sorted(_cap(c) for c in caps)
    flat.setdefault("security.readonly_root", SECURITY_DEFAULTS["readonly_root"])
    flat.setdefault("security.no_new_privileges", SECURITY_DEFAULTS["no_new_privileges"])
    tmpfs = flat.get("security.tmpfs")
    if isinstance(tmpfs, list):
        flat["security.tmpfs"] = sorted(t for t in tmpfs if not (flat["security.readonly_root"] and t in READONLY_TMPFS)) or None
        if flat["security.tmpfs"] is None:
            del flat["security.tmpfs"]
    if "resources.memory_limit" in flat:
        flat["resources.memory_limit"] = str(flat["resources.memory_limit"]).lower()
    hc = app.get("health_check")
    if isinstance(hc, dict):
        for key in [k for k in flat if k.startswith("health_check.")]:
            del flat[key]
        flat["health_check.test"] = health_test(hc)
        for key, default in HEALTH_DEFAULTS.items():
            flat["health_check." + key] = hc.get(key, default)
    flat["ports"] = _norm_ports(app.get("ports"))
    flat["volumes"] = _norm_volumes(app.get("volumes"))
    return flat


def differences(app_id, adopted, node, catalogue):
    """[{app, key, node, catalogue, adopted}] where the node's own value or the catalogue's differs
    from the adopted model's (only keys the node or the catalogue says something about)."""
    a, n, c = _comparable(adopted), _comparable(node) if node else {}, _comparable(catalogue) if catalogue else {}
    out = []
    for key in sorted(set(n) | set(c)):
        if key in ("ports", "volumes") and not (n.get(key) or c.get(key)):
            continue
        values = {"node": n.get(key), "catalogue": c.get(key), "adopted": a.get(key)}
        # A side that says nothing about a key (a container has no selection tier) is no difference.
        if any(key in side and side[key] != values["adopted"] for side in (n, c)):
            out.append(dict(app=app_id, key=key, **values))
    return out


def _spell_out(model):
    """The model's defaults written out in an adopted app, so that what the containers role
    records of it and what the next adoption reads back are the same."""
    if isinstance(model.get("security"), dict) or "security" not in model:
        model["security"] = dict(SECURITY_DEFAULTS, **(model.get("security") or {}))
    if isinstance(model.get("health_check"), dict) and model["health_check"]:
        model["health_check"] = dict(HEALTH_DEFAULTS, **model["health_check"])


def record_of(app, env_names=()):
    """What the containers role records of an app it runs: the app without environment values
    (their names instead), its defaults spelled out as adoption spells them, so that the record
    of a node's model and of the same model adopted back from the node are the same."""
    out = dict((k, copy.deepcopy(v)) for k, v in app.items() if k not in ("environment", "environment_names"))
    _spell_out(out)
    if env_names:
        out["environment_names"] = sorted(set(env_names))
    return out


def _loopback_ports(ports, notes, app_id):
    """Ports as the model publishes them: on loopback unless the node bound a specific address.
    A port the node published on every address is noted (published ports bypass UFW)."""
    out = []
    for p in ports or []:
        entry = dict(p)
        if str(entry.get("bind")) in ("0.0.0.0", "::", ""):
            notes.append("%s: host port %s was published on every address (past UFW); the model publishes "
                         "it on 127.0.0.1" % (app_id, entry.get("host")))
            entry["bind"] = "127.0.0.1"
        out.append(entry)
    return out


@_shaped(lambda doc, path: "record %s" % path)
def record_app(doc, path):
    """One record the containers role wrote (<id>.app.json: the app it runs, environment names
    instead of values) -> (app, environment names)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not _ID.match(doc["id"]):
        raise AdoptError("%s: a record is an app mapping with an id" % path)
    expected = path.rsplit("/", 1)[-1][:-len(".app.json")] if path.endswith(".app.json") else doc["id"]
    if doc["id"] != expected:
        raise AdoptError("%s: the record is of app %s" % (path, doc["id"]))
    app = dict((k, copy.deepcopy(v)) for k, v in doc.items() if k not in ("environment", "environment_names"))
    names = doc.get("environment_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and _ENV_NAME.match(n) for n in names):
        raise AdoptError("%s: environment_names is not a list of variable names" % path)
    for key in ("container", "resources", "security", "health_check"):
        if key in app and not isinstance(app[key], dict):
            raise AdoptError("%s: %s is not a mapping" % (path, key))
    for key in ("dependencies", "ports", "volumes"):
        if key in app and not isinstance(app[key], list):
            raise AdoptError("%s: %s is not a list" % (path, key))
    for dep in app.get("dependencies") or []:
        if not isinstance(dep.get("app_id") if isinstance(dep, dict) else dep, str):
            raise AdoptError("%s: dependencies are app ids or {app_id}" % path)
    return app, sorted(set(names))


def adopt(containers, manifests=(), catalogue=(), exclude=(), env_dir=None, owned=None, records=(),
          records_dir=None):
    """The node's app model.

    containers: container_app() results; manifests: (app, env_names) from manifest_app();
    catalogue: the catalogue's apps; exclude: container ids other roles run; env_dir: the node
    folder that holds the apps' environment files (app_environment writes them); records:
    (app, env_names) from record_app(), what the containers role ran, in records_dir (where the
    role's own environment files are too).
    Returns {"apps": [complete apps, valid for the containers role], "incomplete": [{"app",
    "missing"}], "differences": [...], "notes": [...], "sources": {id: [manifest, container]},
    "environment": {id: [names]}, "catalogue_ids": [ids matched]}."""
    known = dict((a["id"], a) for a in catalogue or [] if isinstance(a, dict) and a.get("id"))
    owned = dict(owned or {})
    skip = set(exclude or ()) | set(owned)
    by_container = dict((c["app"]["id"], c) for c in containers)
    by_manifest = dict((m[0]["id"], m) for m in manifests)
    by_record = dict((r[0]["id"], r) for r in records)
    ids = sorted((set(by_container) | set(by_manifest) | set(by_record)) - skip)
    apps, incomplete, diffs, notes, sources, env = [], [], [], [], {}, {}
    for app_id in ids:
        cat = known.get(app_id)
        found = by_container.get(app_id)
        manifest, manifest_env = by_manifest.get(app_id, (None, []))
        record, record_env = by_record.get(app_id, (None, []))
        layers = (("catalogue", cat), ("manifest", manifest), ("record", record), ("container", found))
        sources[app_id] = [name for name, layer in layers if layer]
        # What the role last ran (its record, a whole app) stands alone; otherwise a manifest says
        # more than the catalogue.
        model = copy.deepcopy(record) if record else copy.deepcopy(cat) if cat else {"id": app_id}
        if manifest and not record:
            model = merge(model, manifest)
            if manifest.get("health_check"):
                model["health_check"] = manifest["health_check"]      # a check is one thing, not merged
        node = copy.deepcopy(found["app"]) if found else None
        if node:
            # What runs on the node wins for what holds the app's data and identity: image,
            # networks, user, command, ports, volumes, a memory limit and a health check it has.
            container = dict(model.get("container") or {})
            for key in ("network", "user", "command"):
                if key in node["container"]:
                    container[key] = node["container"][key]
                elif key == "user":
                    # It runs as its image's user: another user would not own its data.
                    container.pop("user", None)
            image = node["container"].get("image")
            if image and image_pinned(image):
                container["image"] = image
            elif image and image != container.get("image"):
                notes.append("%s: the node runs %s, which is not pinned; the model %s"
                             % (app_id, image, "uses the catalogue's %s" % container["image"]
                                if container.get("image") else "needs a pinned image"))
                if not cat:
                    container.pop("image", None)
            model["container"] = container
            if node.get("ports") or "ports" in model:
                model["ports"] = _loopback_ports(node.get("ports", []), notes, app_id)
            if node.get("volumes") or "volumes" in model:
                model["volumes"] = node.get("volumes", [])
            if (node.get("resources") or {}).get("memory_limit"):
                model.setdefault("resources", {})["memory_limit"] = node["resources"]["memory_limit"]
            if node.get("health_check") and (
                    found["own_health"] or not model.get("health_check")
                    or (not (manifest or record or {}).get("health_check")
                        and container.get("image") != (cat or {}).get("container", {}).get("image"))):
                # A check set for this container works with the image it runs. The image's own
                # HEALTHCHECK comes next when the node runs another image than the catalogue's
                # (the catalogue's check is for its image); a manifest's check says what the
                # node wants and comes before both.
                model["health_check"] = node["health_check"]
            if "capabilities" in node["security"]:
                # Already hardened (every capability dropped, some added back): what runs, works.
                # Podman mounts /run, /tmp and /var/tmp in a read-only container by itself, so
                # the container cannot say whether the model named them: the model's list stands
                # when it explains every tmpfs the container has.
                security = dict(node["security"])
                before = (model.get("security") or {}).get("tmpfs")
                if security["readonly_root"] and isinstance(before, list) and set(security.get("tmpfs", [])) <= set(before):
                    security["tmpfs"] = before
                model["security"] = security
            elif not cat and not (manifest or {}).get("security"):
                model["security"] = node["security"]
                notes.append("%s: it ran with Podman's default capabilities; the model drops them all: add "
                             "back the ones it needs in security.capabilities" % app_id)
            if node.get("startup_tier") and not model.get("startup_tier"):
                model["startup_tier"] = node["startup_tier"]
            if found["restart_policy"] not in ("no", ""):
                notes.append("%s: Podman restarted it itself (restart=%s); its unit restarts it with backoff "
                             "instead (CONT-04)" % (app_id, found["restart_policy"]))
        names = sorted(set((found or {}).get("env_names") or []) | set(manifest_env) | set(record_env))
        if names and (found or record):
            # The node's environment file holds every value the container runs with.
            model.pop("environment", None)
        if names:
            env[app_id] = names
            if (record or {}).get("environment_file"):
                pass                                         # the record's own file stands
            elif record and record_env and records_dir:
                # The role's own environment file of the app holds the values (whether its container
                # runs or not): the unit stays as it is.
                model["environment_file"] = "%s/%s.env" % (records_dir.rstrip("/"), app_id)
            elif found and env_dir:
                model["environment_file"] = "%s/%s.env" % (env_dir.rstrip("/"), app_id)
        missing = []
        if not (model.get("container") or {}).get("image"):
            missing.append("container.image (pinned)")
        if not (model.get("resources") or {}).get("memory_limit"):
            missing.append("resources.memory_limit")
        if not model.get("health_check"):
            missing.append("health_check")
        if not model.get("startup_tier"):
            missing.append("startup_tier")
        if names and not found and not model.get("environment_file"):
            missing.append("environment values (%s): the app is not running, give them in archipelago_apps"
                           % ", ".join(names))
        model.setdefault("tier", "optional")
        _spell_out(model)
        diffs.extend(differences(app_id, model, node, cat))
        if missing:
            entry = {"app": model, "missing": missing}
            if found:
                entry["state"] = found["state"]
            incomplete.append(entry)
        else:
            apps.append(model)
    present = set(ids)
    for app in apps + [i["app"] for i in incomplete]:
        deps = [d for d in app.get("dependencies") or []
                if (d.get("app_id") if isinstance(d, dict) else d) in present]
        dropped = [d for d in app.get("dependencies") or [] if d not in deps]
        if dropped:
            notes.append("%s: its dependencies %s are not on this node and were left out"
                         % (app["id"], ", ".join(str(d.get("app_id") if isinstance(d, dict) else d) for d in dropped)))
        if "dependencies" in app:
            app["dependencies"] = deps
    return {"apps": apps, "incomplete": incomplete, "differences": diffs, "notes": notes,
            "sources": sources, "environment": env,
            "catalogue_ids": sorted(i for i in ids if i in known)}


# --- reading the node (run is AnsibleModule.run_command or a stand-in) -----------------------

# The options every module that runs Podman takes (doc fragment archipelago.node.podman).
PODMAN_ARGS = dict(podman=dict(type="str", default="podman"), timeout=dict(type="int", default=60))


def podman_args_error(params):
    """The message for a bad timeout, or None."""
    if not 1 <= params["timeout"] <= 600:
        return "timeout must be 1 to 600 seconds, not %d" % params["timeout"]
    return None


def _podman_json(run, argv, what):
    rc, out, err = run(argv)
    if rc == 124 and argv[0] == "timeout":
        raise AdoptError("%s did not finish within %s s (the timeout option); is Podman stuck?" % (what, argv[1]))
    if rc != 0:
        raise AdoptError("%s failed (rc %s): %s" % (" ".join(argv[2:4]) or what, rc,
                                                    (err or out or "").strip()[:300]))
    try:
        data = json.loads(out or "[]")
    except ValueError:
        raise AdoptError("%s did not print JSON" % what)
    if not isinstance(data, list):
        raise AdoptError("%s printed %s, not a list" % (what, type(data).__name__))
    return data


def read_containers(run, podman="podman", timeout=60, names=None):
    """[(container inspect, image inspect or None)] for every container (or the named ones):
    three podman runs whatever the number of containers."""
    lead = ["timeout", str(int(timeout)), podman]
    if names is None:
        ids = [c.get("Id") for c in _podman_json(run, lead + ["ps", "-a", "--format", "json"], "podman ps")
               if isinstance(c, dict) and c.get("Id")]
    else:
        ids = list(names)
    if not ids:
        return []
    inspects = _podman_json(run, lead + ["container", "inspect"] + ids, "podman container inspect")
    images = sorted(set(i.get("Image") for i in inspects if isinstance(i, dict) and i.get("Image")))
    by_image = {}
    if images:
        for img in _podman_json(run, lead + ["image", "inspect"] + images, "podman image inspect"):
            if isinstance(img, dict) and img.get("Id"):
                by_image[img["Id"]] = img
    return [(i, by_image.get(i.get("Image"))) for i in inspects if isinstance(i, dict)]


@_shaped(_container_name)
def environment_lines(inspect, image):
    """The container's own environment (not its image's) as NAME=value lines for an env file.
    Raises AdoptError for a value an env file cannot hold (a newline)."""
    image_env = set(_get(image, "Config", "Env") or [])
    lines = []
    for entry in _get(inspect, "Config", "Env") or []:
        if not isinstance(entry, str) or entry in image_env or "=" not in entry:
            continue
        name = entry.split("=", 1)[0]
        if name in ("container", "HOSTNAME", "HOME", "TERM"):
            continue
        if "\n" in entry or "\r" in entry:
            raise AdoptError("container %s: %s holds a line break, which an environment file cannot keep"
                             % (str(inspect.get("Name")).lstrip("/"), name))
        lines.append(entry)
    return lines
