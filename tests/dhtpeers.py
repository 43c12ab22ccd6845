"""Loopback peers not written here, for the did:dht interop tests: a Mainline DHT swarm of npm
bittorrent-dht nodes with an npm pkarr relay in front (tests/interop/js/swarm.mjs), and a one-shot
BEP44 client (client.mjs). Every socket is bound to 127.0.0.1 (or the relay to a given lab
address) and no public bootstrap router is ever contacted."""
import json
import os
import pathlib
import select
import shutil
import signal
import subprocess
import tempfile

INTEROP = pathlib.Path(__file__).resolve().parent / "interop"
JS = INTEROP / "js"
WEB5 = INTEROP / "web5"
NOSTR = INTEROP / "nostr"
CACHE_ROOT = pathlib.Path(os.environ.get("ARCHY_CACHE", "/var/cache/archipelago-lab"))


def ensure_node_modules(js=JS, cache_name="npm-dht", scripts=True):
    """npm install the pinned packages of js/package.json into the cache (once per package.json)
    and link them into js/; scripts=False runs no install script (web5's dependencies carry a
    preinstall that insists on pnpm and that nothing here needs)."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError("node and npm are needed for the did:dht interop peers (scripts/setup-host.sh installs them)")
    cache = CACHE_ROOT / cache_name
    cache.mkdir(parents=True, exist_ok=True)
    want = (js / "package.json").read_text()
    have = cache / "package.json"
    if not (cache / "node_modules").is_dir() or not have.exists() or have.read_text() != want:
        have.write_text(want)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
                       + ([] if scripts else ["--ignore-scripts"]), cwd=cache, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    link = js / "node_modules"
    if not link.is_symlink() or link.resolve() != (cache / "node_modules").resolve():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(cache / "node_modules")


def _node_script(js, script, args, timeout):
    """node js/script ARGS in a temporary folder (web5's resolver keeps a cache where it runs);
    its last stdout line as JSON."""
    with tempfile.TemporaryDirectory(prefix="interop-") as cwd:
        out = subprocess.run(["node", str(js / script)] + [str(a) for a in args], cwd=cwd, capture_output=True,
                             text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError("%s %s %s failed: %s" % (js.name, script, args[0], out.stderr[-1500:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def web5(*args, timeout=60, script="did.mjs"):
    """web5's did:dht and credentials (tests/interop/web5/did.mjs) or TBD's DWN (dwn.mjs): one
    command; its JSON answer."""
    ensure_node_modules(WEB5, "npm-web5", scripts=False)
    return _node_script(WEB5, script, args, timeout)


def nostr_tools(*args, timeout=30):
    """nostr-tools (tests/interop/nostr/nostr.mjs): one command (keygen, sign, verify, publish,
    fetch, nip04-encrypt, nip04-decrypt); its JSON answer. Arguments that are not text go as JSON."""
    ensure_node_modules(NOSTR, "npm-nostr", scripts=False)
    return _node_script(NOSTR, "nostr.mjs", [a if isinstance(a, str) else json.dumps(a) for a in args], timeout)


def lab_nostr_relay():
    """The lab's Nostr relay (lab up starts it), as the lab inventory names it."""
    import yaml
    with open(INTEROP.parents[1] / "inventories" / "lab" / "group_vars" / "archipelago" / "main.yml") as fh:
        return yaml.safe_load(fh)["federate_nostr_relays"][0]


class Swarm:
    """node swarm.mjs in its own process group; .relay (base URL) and .nodes (host:port list)."""

    def __init__(self, nodes=8, relay_host="127.0.0.1", timeout=30):
        ensure_node_modules()
        self.proc = subprocess.Popen(["node", str(JS / "swarm.mjs"), str(nodes), relay_host], cwd=JS,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("the DHT swarm did not start within %d s: %s" % (timeout, self.proc.stderr.read()[-2000:]))
        info = json.loads(line)
        self.relay, self.nodes = info["relay"], info["nodes"]

    def client(self, *args, timeout=30):
        """Run client.mjs get|put|did-packet against this swarm; its JSON answer."""
        cmd = ["node", str(JS / "client.mjs"), args[0]]
        if args[0] != "did-packet":
            cmd.append(",".join(self.nodes))
        out = subprocess.run(cmd + [str(a) for a in args[1:]], cwd=JS, capture_output=True, text=True, timeout=timeout)
        if out.returncode:
            raise RuntimeError("client.mjs %s failed: %s" % (args[0], out.stderr[-1000:]))
        return json.loads(out.stdout.strip().splitlines()[-1])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
