"""playbooks/monitoring.yml on the lab: node exporters on arch1/arch2, Prometheus and
Alertmanager on archmon (time-compressed, inventories/lab/group_vars/monitoring). Each alert of
the plan is made to fire by a real fault on a node, seen delivered by the lab's webhook receiver,
and seen resolved once the fault is gone. A second run and --check change nothing; the exporter
answers the monitoring host and nobody else."""
import json
import re
import shlex
import sys
import time
import pathlib
import urllib.request

import pytest

from labhosts import changed, controller, lab_hostvars, node_host, ssh_host, wait_until

BIN = pathlib.Path(sys.executable).parent
HOSTS = ["arch1", "arch2", "archmon"]
PORT = 9100
# A container image every stabilized lab node has (the stand-ins are Python).
IMAGE = "docker.io/archylab/electrs:1.0"
DISK = "/srv/archy-lab-disk"
SUITE = {}                 # when this suite's converge started: the soak report covers its run


def run_playbook(*args):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/monitoring.yml", *args], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return changed(res.stdout)


@pytest.fixture(scope="module")
def converged():
    first = run_playbook()
    assert set(first) == set(HOSTS), first
    SUITE["started"] = time.time()
    yield first
    # The lab's time-compressed monitoring (a metrics run every 5 s on each node, scrapes every
    # 2 s) is load the later suites on this 2-core machine do without: stopped here, started
    # again by the next run of monitoring.yml.
    for node in ("arch1", "arch2"):
        node_host(node).run("systemctl stop archy-node-metrics.timer")
    ssh_host(lab_hostvars("archmon")).run("systemctl stop prometheus.service prometheus-alertmanager.service")


@pytest.fixture(scope="module")
def monitor(converged):
    return ssh_host(lab_hostvars("archmon"))


class Receiver:
    """What the lab receiver on archmon recorded: Alertmanager's webhook notifications."""

    def __init__(self, host):
        self.host = host
        self.mark = len(self.notifications())

    def notifications(self):
        out = self.host.check_output("curl -sf http://127.0.0.1:9099/")
        return [json.loads(line)["body"] for line in out.splitlines() if line.strip()]

    def alerts(self):
        """(status, labels) of every alert of the notifications since the mark."""
        return [(a["status"], a["labels"]) for n in self.notifications()[self.mark:] for a in n.get("alerts", [])]

    def wait(self, status, alertname, timeout=120, **labels):
        def seen():
            return [lab for st, lab in self.alerts() if st == status and lab.get("alertname") == alertname
                    and all(lab.get(k) == v for k, v in labels.items())]
        return wait_until(seen, timeout, f"{alertname} {labels} {status} at the lab receiver", interval=1)


def prometheus(monitor, path):
    return json.loads(monitor.check_output(f"curl -sfg 'http://127.0.0.1:9090{path}'"))


def test_both_nodes_are_scraped_and_report_every_source(monitor):
    def all_up():
        targets = prometheus(monitor, "/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"]["instance"]: t["health"] for t in targets} == {"arch1": "up", "arch2": "up"}
    wait_until(all_up, 60, "Prometheus to scrape arch1 and arch2")
    for node in ("arch1", "arch2"):
        def sources():
            res = prometheus(monitor, f"/api/v1/query?query=archy_metrics_source_ok{{instance=%22{node}%22}}")
            return {r["metric"]["source"]: r["value"][1] for r in res["data"]["result"]}
        wait_until(lambda: sources() == dict.fromkeys(["containers", "oom", "backend", "federation", "tor"], "1"),
                   60, f"every source of archy-node-metrics on {node} to read")


def test_a_second_run_and_check_mode_change_nothing(converged):
    assert run_playbook() == dict.fromkeys(HOSTS, 0)
    assert run_playbook("--check", "--diff") == dict.fromkeys(HOSTS, 0)


def test_a_host_that_left_the_monitoring_group_loses_its_way_in(converged):
    """The role's own UFW rule for an address that is no monitoring host is deleted; a rule the
    role did not write stays."""
    node, address = node_host("arch1"), lab_hostvars("arch1")["ansible_host"]
    node.check_output(f"ufw allow proto tcp from 10.203.0.99 to {address} port {PORT} comment 'archipelago node_exporter'"
                      f" && ufw allow proto tcp from 10.203.0.98 to {address} port 8080 comment 'operator'")
    try:
        assert run_playbook("--limit", "arch1") == {"arch1": 1}
        rules = node.check_output("ufw show added")
        assert "10.203.0.99" not in rules and "10.203.0.98" in rules, rules
        assert f"from {lab_hostvars('archmon')['ansible_host']} " in rules
    finally:
        node.run(f"ufw delete allow proto tcp from 10.203.0.98 to {address} port 8080; "
                 f"ufw delete allow proto tcp from 10.203.0.99 to {address} port {PORT}")


def test_the_exporter_answers_the_monitoring_host_only(monitor):
    address = lab_hostvars("arch1")["ansible_host"]
    url = f"http://{address}:{PORT}/metrics"
    assert "node_systemd_unit_state" in monitor.check_output(f"curl -sf -m 5 {url}")
    other = node_host("arch2").run(f"curl -sf -m 3 -o /dev/null {url}")
    assert other.rc != 0, "arch2 reached arch1's exporter"
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=3)          # the controller is not a monitoring host
    assert node_host("arch1").run("ss -Hltn 'sport = :9100'").stdout.split()[3] == f"{address}:{PORT}"


def test_a_stopped_backend_alerts_and_resolves(monitor):
    rx, node = Receiver(monitor), node_host("arch1")
    node.check_output("systemctl stop archipelago.service")
    try:
        rx.wait("firing", "ArchyBackendDown", instance="arch1", control="STAB-04")
    finally:
        node.check_output("systemctl start archipelago.service")
    rx.wait("resolved", "ArchyBackendDown", instance="arch1")


def test_an_oom_kill_through_a_memory_limit_alerts_and_resolves(monitor):
    rx, node = Receiver(monitor), node_host("arch2")
    run = node.run(f"podman run --rm --name archy-oomtest --memory 32m --memory-swap 32m --entrypoint python3 {IMAGE} "
                   "-c 'x = bytearray(256 * 1024 * 1024)'")
    assert run.rc == 137, (run.rc, run.stderr)                 # killed by the kernel, not an error
    [alert] = rx.wait("firing", "ArchyContainerOomKilled", instance="arch2", name="archy-oomtest")
    assert alert["control"] == "MEM-01" and alert["severity"] == "critical"
    assert not [lab for st, lab in rx.alerts() if lab.get("alertname") == "ArchyContainerOomKilled"
                and lab.get("instance") == "arch1"], "arch1 counted arch2's kill (the lab nodes share a kernel)"
    rx.wait("resolved", "ArchyContainerOomKilled", instance="arch2", name="archy-oomtest", timeout=150)


def test_a_filling_disk_alerts_at_each_threshold_and_resolves(monitor):
    rx, node = Receiver(monitor), node_host("arch1")
    node.check_output(f"mkdir -p {DISK} && mount -t tmpfs -o size=64m archy-lab-disk {DISK}")
    try:
        # Growth is measured against the filesystem of one window ago: wait until Prometheus has it.
        window = lab_hostvars("archmon")["monitoring_disk_growth_window"]
        wait_until(lambda: prometheus(monitor, f'/api/v1/query?query=node_filesystem_size_bytes{{mountpoint="{DISK}"}}'
                                               f'%20offset%20{window}')["data"]["result"],
                   120, f"Prometheus to have scraped {DISK} for {window}")
        node.check_output(f"head -c {60 << 20} /dev/zero > {DISK}/fill")
        for name, control in (("ArchyDiskAbove80Percent", "SCALE-04"), ("ArchyDiskAbove85Percent", "MEM-03"),
                              ("ArchyDiskAbove90Percent", "MEM-03"), ("ArchyDiskGrowing", "MEM-03")):
            rx.wait("firing", name, instance="arch1", mountpoint=DISK, control=control)
    finally:
        node.run(f"umount {DISK}; rmdir {DISK}")
    for name in ("ArchyDiskAbove90Percent", "ArchyDiskGrowing"):
        rx.wait("resolved", name, instance="arch1", mountpoint=DISK)


def test_the_disk_cleanup_frees_rotated_logs_and_unused_images_and_never_volumes(converged):
    """MEM-03: the node's own cleanup unit on a filesystem 89 % full: --dry-run changes nothing; a
    run removes the rotated log and the image no app uses, keeps the current log, a rotated log on
    another filesystem (removing it frees nothing here), the apps' images and a volume, and reports
    what it did."""
    node = node_host("arch2")
    node.check_output(f"mkdir -p {DISK} && mount -t tmpfs -o size=64m archy-lab-disk {DISK} && mkdir {DISK}/log"
                      f" && head -c {56 << 20} /dev/zero > {DISK}/log/app.log && head -c {1 << 20} /dev/zero > {DISK}/log/app.log.1")
    try:
        node.check_output("head -c 4096 /dev/zero > /var/log/archy-cleanup-test.log.1")
        node.check_output("tar cf /tmp/empty.tar --files-from /dev/null && podman import -q /tmp/empty.tar "
                          "localhost/archy-unused:1 && podman volume create archy-cleanup-keep")
        images = set(node.check_output("podman images --format '{{.Repository}}:{{.Tag}}'").split())
        dry = node.check_output("/usr/bin/python3 /usr/local/libexec/archipelago/archy-disk-cleanup --dry-run")
        assert "logs: remove /srv/archy-lab-disk/log/app.log.1" in dry and "(dry run)" in dry
        assert node.file(f"{DISK}/log/app.log.1").exists
        node.check_output("systemctl start archy-disk-cleanup.service")
        log = node.check_output("journalctl -u archy-disk-cleanup.service -n 30 --no-pager -o cat")
        assert not node.file(f"{DISK}/log/app.log.1").exists, log
        assert node.file(f"{DISK}/log/app.log").exists
        assert node.file("/var/log/archy-cleanup-test.log.1").exists, ("a log elsewhere was removed", log)
        after = set(node.check_output("podman images --format '{{.Repository}}:{{.Tag}}'").split())
        kept = set(json.loads(node.check_output("cat /etc/archipelago/disk-cleanup.json"))["keep_images"])
        assert "localhost/archy-unused:1" in images - after, (images - after, log)
        assert kept & images <= after, ("an image of the app model was removed", kept & images - after)
        in_use = set(node.check_output("podman ps -a --format '{{.Image}}'").split())
        assert in_use & images <= after, ("an image in use was removed", in_use & images - after)
        assert node.run("podman volume exists archy-cleanup-keep").rc == 0
        prom = node.file("/var/lib/prometheus/node-exporter/disk-cleanup.prom").content_string
        actions = dict(re.findall(r'archy_disk_cleanup_actions\{action="(\w+)"\} ([0-9.]+)', prom))
        assert actions.get("logs") == "1.0" and float(actions.get("images", 0)) >= 1, prom
    finally:
        node.run(f"umount {DISK}; rmdir {DISK}; podman rmi -f localhost/archy-unused:1; "
                 "podman volume rm -f archy-cleanup-keep; rm -f /tmp/empty.tar /var/log/archy-cleanup-test.log.1")


def test_a_container_whose_memory_grows_alerts_and_resolves(monitor):
    rx, node = Receiver(monitor), node_host("arch2")
    grow = ("import time\nb = []\nfor _ in range(240):\n    b.append(bytearray(2 << 20))\n    time.sleep(0.5)\n"
            "time.sleep(600)\n")
    node.check_output(f"podman run -d --rm --name archy-leaktest --memory 1g --entrypoint python3 {IMAGE} -c {shlex.quote(grow)}")
    wait_until(lambda: node.run("podman ps -q --filter name=archy-leaktest").stdout.strip(), 30, "the stand-in to run")
    try:
        [alert] = rx.wait("firing", "ArchyContainerMemoryGrowing", instance="arch2", name="archy-leaktest", timeout=180)
        assert alert["control"] == "MEM-02"
    finally:
        node.run("podman rm -f -t 0 archy-leaktest")
    rx.wait("resolved", "ArchyContainerMemoryGrowing", instance="arch2", name="archy-leaktest")


def test_a_unit_given_up_after_its_backoff_alerts_and_resolves(monitor):
    """The way systemd gives up an app unit (StartLimitBurst after its restarts), on a unit that
    always fails."""
    rx, node = Receiver(monitor), node_host("arch1")
    unit = "archy-app-givesup.service"
    node.check_output(f"printf '%s\\n' '[Unit]' 'StartLimitIntervalSec=120' 'StartLimitBurst=3' '[Service]' "
                      f"'ExecStart=/bin/false' 'Restart=on-failure' 'RestartSec=1' > /run/systemd/system/{unit} "
                      f"&& systemctl daemon-reload && systemctl start --no-block {unit}")
    try:
        wait_until(lambda: node.run(f"systemctl show -p ActiveState,NRestarts {unit}").stdout.split()
                   == ["NRestarts=3", "ActiveState=failed"], 60, f"systemd to give {unit} up after 3 restarts")
        [alert] = rx.wait("firing", "ArchyUnitFailed", instance="arch1", name=unit)
        assert alert["control"] == "CONT-04"
    finally:
        node.run(f"systemctl stop {unit}; systemctl reset-failed {unit}; rm -f /run/systemd/system/{unit}; "
                 "systemctl daemon-reload")
    rx.wait("resolved", "ArchyUnitFailed", instance="arch1", name=unit)


def test_the_soak_report_of_this_suite(monitor, tmp_path):
    """The time-compressed soak: the report of the window this suite ran in, as JSON, text and PNG."""
    window = int(time.time() - SUITE["started"])
    res = controller([str(BIN / "ansible-playbook"), "playbooks/soak_report.yml", "-e", f"soak_window={window}s",
                      "-e", f"soak_dir={tmp_path}"], check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    nodes = report["nodes"]
    assert {"arch1", "arch2"} <= set(nodes)
    for node in ("arch1", "arch2"):
        assert nodes[node]["uptime_percent"] >= 90, nodes[node]["uptime_percent"]
        assert nodes[node]["memory"], f"no memory trends for {node}"
        png = tmp_path / f"{node}-memory.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert nodes["arch2"]["oom_kills"].get("archy-oomtest") == 1, nodes["arch2"]["oom_kills"]
    assert "archy-oomtest" not in nodes["arch1"]["oom_kills"]
    assert nodes["arch2"]["memory"]["archy-leaktest"]["ratio"] > 1.5
    assert nodes["arch1"]["unit_restarts"].get("archy-app-givesup.service", 0) >= 3
    text = (tmp_path / "report.txt").read_text()
    assert "== arch1: up" in text and "== arch2: up" in text


def test_the_soak_report_says_what_is_wrong_with_bad_input(monitor):
    for args, words in (("window=7", "window: '7' is not a duration"),
                        ("url=http://127.0.0.1:1", "cannot ask Prometheus at http://127.0.0.1:1"),
                        ("window=1h step=0", "step must be")):
        res = controller([str(BIN / "ansible"), "archmon", "-m", "archipelago.node.soak_report_info", "-a", args],
                         check=False)
        assert res.returncode != 0 and words in res.stdout, res.stdout[-1500:]
        assert "Traceback" not in res.stdout + res.stderr
