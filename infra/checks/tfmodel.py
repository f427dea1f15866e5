#!/usr/bin/env python3
"""Reads infra/terraform with python-hcl2 into something tests can ask questions of.

No Terraform binary is at hand, so this follows the few things the structural tests need:
  * a Module is one folder's .tf files merged: variables, locals, resources, data sources,
    module calls and outputs, each body as python-hcl2 gives it (strings without their
    quotes, expressions as "${...}", nested blocks as lists of dicts);
  * an Instance is a module as an environment calls it: the root module (deployment/) with
    envs/<env>/terraform.tfvars,
    then each module call below it with its arguments. Instance.eval resolves what is a plain
    reference, `${var.x}` (through the callers' arguments up to terraform.tfvars or the
    variable's default) and `${local.x}`, inside literals, maps and lists; any other
    expression comes back as its text, for a test to match.

  python3 infra/checks/tfmodel.py    parse every .tf and .tfvars under infra/terraform, print a count
"""
import glob
import os
import re
import sys

import hcl2
from hcl2 import SerializationOptions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERRAFORM = os.path.join(ROOT, "infra", "terraform")
DEPLOYMENT = os.path.join(TERRAFORM, "deployment")
ENVIRONMENTS = ("dev", "staging", "prod")

OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
REFERENCE = re.compile(r"\$\{(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)\}")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


class Unresolved(Exception):
    pass


class Module:
    """One folder of .tf files."""

    _cache = {}

    @classmethod
    def at(cls, path):
        path = os.path.normpath(path)
        if path not in cls._cache:
            cls._cache[path] = cls(path)
        return cls._cache[path]

    def __init__(self, path):
        self.path = path
        self.files = sorted(glob.glob(os.path.join(path, "*.tf")))
        self.variables, self.locals, self.outputs, self.modules = {}, {}, {}, {}
        self.resources, self.data = {}, {}
        for file in self.files:
            document = load(file)
            for block in document.get("variable", []):
                self.variables.update(block)
            for block in document.get("locals", []):
                self.locals.update(block)
            for block in document.get("output", []):
                self.outputs.update(block)
            for block in document.get("module", []):
                self.modules.update(block)
            for kind, into in (("resource", self.resources), ("data", self.data)):
                for block in document.get(kind, []):
                    for rtype, named in block.items():
                        for name, body in named.items():
                            into[(rtype, name)] = body

    def resources_of(self, rtype):
        return {name: body for (kind, name), body in self.resources.items() if kind == rtype}


class Instance:
    """A module as called, with the arguments it was given."""

    def __init__(self, module, args=None, caller=None, tfvars=None, address=""):
        self.module = module
        self.args = args or {}
        self.caller = caller
        self.tfvars = tfvars
        self.address = address

    @classmethod
    def environment(cls, name):
        tfvars = load(os.path.join(TERRAFORM, "envs", name, "terraform.tfvars"))
        return cls(Module.at(DEPLOYMENT), tfvars=tfvars, address=f"envs/{name}")

    def child(self, call):
        body = self.module.modules[call]
        source = os.path.join(self.module.path, body["source"])
        args = {k: v for k, v in body.items() if k not in ("source", "depends_on", "providers", "count", "for_each")}
        return Instance(Module.at(source), args=args, caller=self, address=f"{self.address}/module.{call}")

    def path(self, *calls):
        instance = self
        for call in calls:
            instance = instance.child(call)
        return instance

    def var(self, name):
        if name in self.args:
            return self.caller.eval(self.args[name])
        if self.tfvars is not None and name in self.tfvars:
            return self.tfvars[name]
        if name not in self.module.variables:
            raise Unresolved(f"{self.address}: no variable {name}")
        declared = self.module.variables[name]
        if "default" not in declared:
            raise Unresolved(f"{self.address}: variable {name} has no value")
        return declared["default"]

    def local(self, name):
        if name not in self.module.locals:
            raise Unresolved(f"{self.address}: no local {name}")
        return self.eval(self.module.locals[name])

    def eval(self, value):
        if isinstance(value, str):
            match = REFERENCE.fullmatch(value)
            if match:
                kind, name = match.groups()
                return self.var(name) if kind == "var" else self.local(name)
            return value
        if isinstance(value, dict):
            return {k: self.eval(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.eval(v) for v in value]
        return value

    def resource(self, rtype, name):
        key = (rtype, name)
        if key not in self.module.resources:
            raise KeyError(f"{self.address}: no resource {rtype}.{name}")
        return self.module.resources[key]

    def attribute(self, rtype, name, attribute):
        body = self.resource(rtype, name)
        if attribute not in body:
            raise KeyError(f"{self.address}: {rtype}.{name} has no {attribute}")
        return self.eval(body[attribute])


def every_module():
    """Every folder under infra/terraform that holds .tf files."""
    folders = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(TERRAFORM, "**", "*.tf"), recursive=True)})
    return [Module.at(folder) for folder in folders]


def parse_all():
    """Parses every .tf and .tfvars file; returns how many, raises on the first that fails."""
    paths = sorted(glob.glob(os.path.join(TERRAFORM, "**", "*.tf"), recursive=True)
                   + glob.glob(os.path.join(TERRAFORM, "**", "*.tfvars"), recursive=True)
                   + glob.glob(os.path.join(TERRAFORM, "**", "*.hcl"), recursive=True))
    failures = []
    for path in paths:
        try:
            load(path)
        except Exception as error:  # python-hcl2 raises lark's errors, among others
            failures.append(f"{os.path.relpath(path, ROOT)}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
    return paths, failures


if __name__ == "__main__":
    paths, failures = parse_all()
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print(f"check-infra: {len(failures)} of {len(paths)} Terraform files do not parse (python-hcl2)", file=sys.stderr)
        sys.exit(1)
    print(f"check-infra: {len(paths)} Terraform files parse (python-hcl2 {hcl2.version.__version__})")
