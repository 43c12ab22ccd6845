# ansible-test bootstraps pip in each sanity virtualenv with a get-pip script it downloads from
# its own CI host, which this machine cannot reach. This stand-in does the same job offline:
# pip from Python's bundled ensurepip (in a child process: ensurepip blanks the pip
# configuration of the process that runs it), then the pinned pip from the configured index.
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
wanted = [a for a in sys.argv[1:] if a.split("==")[0] in ("pip", "setuptools", "wheel")] or ["pip"]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + wanted)
