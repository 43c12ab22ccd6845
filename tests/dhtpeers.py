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

JS = pathlib.Path(__file__).resolve().parent / "interop" / "js"
CACHE = pathlib.Path(os.environ.get("ARCHY_CACHE", "/var/cache/archipelago-lab")) / "npm-dht"


def ensure_node_modules():
    """npm install the pinned peers into the cache (once per package.json) and link them here."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError("node and npm are needed for the did:dht interop peers (scripts/setup-host.sh installs them)")
    CACHE.mkdir(parents=True, exist_ok=True)
    want = (JS / "package.json").read_text()
    have = CACHE / "package.json"
    if not (CACHE / "node_modules").is_dir() or not have.exists() or have.read_text() != want:
        have.write_text(want)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CACHE, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    link = JS / "node_modules"
    if not link.is_symlink() or link.resolve() != (CACHE / "node_modules").resolve():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(CACHE / "node_modules")


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
