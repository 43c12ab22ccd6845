"""Trim podman inspect output to what adoption reads (the unit tests' recorded nodes)."""
import json, sys
def pick(d, keys):
    return {k: d[k] for k in keys if isinstance(d, dict) and k in d}
def container(c):
    out = pick(c, ["Id", "Name", "Image", "ImageName", "Mounts"])
    out["Config"] = pick(c.get("Config") or {}, ["Image", "User", "Cmd", "Env", "Labels", "Healthcheck"])
    out["HostConfig"] = pick(c.get("HostConfig") or {}, ["NetworkMode", "Memory", "NanoCpus", "CapDrop", "CapAdd",
                          "ReadonlyRootfs", "SecurityOpt", "Tmpfs", "PortBindings", "RestartPolicy"])
    out["NetworkSettings"] = {"Networks": {n: {} for n in ((c.get("NetworkSettings") or {}).get("Networks") or {})}}
    out["Mounts"] = [pick(m, ["Type", "Name", "Source", "Destination", "RW"]) for m in c.get("Mounts") or []]
    out["State"] = pick(c.get("State") or {}, ["Status"])
    return out
def image(i):
    out = pick(i, ["Id", "RepoTags"])
    out["Config"] = pick(i.get("Config") or {}, ["User", "Cmd", "Env", "Healthcheck"])
    if i.get("Healthcheck"):
        out["Healthcheck"] = i["Healthcheck"]
    return out
cs, imgs, dest = sys.argv[1], sys.argv[2], sys.argv[3]
data = {"containers": [container(c) for c in json.load(open(cs))], "images": [image(i) for i in json.load(open(imgs))]}
json.dump(data, open(dest, "w"), indent=1, sort_keys=True)
