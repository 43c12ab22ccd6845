"""The lab's stand-in for the Archipelago backend. See lab/api/README.md."""
VERSION = "0.2.0-lab"
