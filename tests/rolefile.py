"""A role's node-side Python helper (roles/<role>/files/<name>, no .py suffix) loaded as a module
for unit tests, without leaving bytecode beside it in the role."""
import importlib.machinery
import importlib.util
import pathlib
import sys

ROLES = pathlib.Path(__file__).resolve().parents[1] / "collections/ansible_collections/archipelago/node/roles"


def load_role_file(role, name):
    path = ROLES / role / "files" / name
    module_name = name.replace("-", "_")
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader = importlib.machinery.SourceFileLoader(module_name, str(path))
        mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(module_name, loader))
        loader.exec_module(mod)
        return mod
    finally:
        sys.dont_write_bytecode = before
