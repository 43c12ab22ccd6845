"""The healthy suite, the logrotate role (SEC-05) on a stabilized node."""
import re



def test_logs_rotate_daily_keep_7_compressed(node):
    """SEC-05: the configuration passes logrotate -d; a forced rotation of the container logs
    rotates them while the apps keep logging."""
    _, host = node
    assert host.run("logrotate -d /etc/logrotate.conf").rc == 0
    for name in ("archipelago-backend", "archipelago-containers", "nginx"):
        conf = host.file(f"/etc/logrotate.d/{name}").content_string
        assert re.search(r"^\s+daily$", conf, re.M) and re.search(r"^\s+rotate 7$", conf, re.M) \
            and re.search(r"^\s+compress$", conf, re.M) and not re.search(r"^\s+nocompress$", conf, re.M)
    host.check_output("logrotate -f /etc/logrotate.d/archipelago-containers")
    assert host.file("/var/log/archipelago/containers/bitcoin-knots.log.1").exists
    assert host.service("logrotate.timer").is_enabled
