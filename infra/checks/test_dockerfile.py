"""The container image's Dockerfile, checked without a Docker engine (issue 23, item 2):
every file it copies from the build context exists in the repository and is not ignored,
it builds and copies the `tessera` product with its resource bundles, runs as a non-root
user, checks /healthz, and starts `tessera serve`, the command the README documents.
"""
import fnmatch
import json
import glob
import os
import re
import shlex
import unittest

from tfmodel import ROOT, TERRAFORM, Module

DOCKERFILE = os.path.join(ROOT, "Dockerfile")


def instructions():
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    with open(DOCKERFILE, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle if not line.lstrip().startswith("#")]
    result, current = [], ""
    for line in lines:
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            if current.strip():
                word, _, rest = current.strip().partition(" ")
                result.append((word.upper(), rest.strip()))
            current = ""
    return result


def ignored(path, patterns):
    """Whether .dockerignore leaves `path` out of the build context (last match wins)."""
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            verdict = not negated
    return verdict


class DockerfileTests(unittest.TestCase):
    def setUp(self):
        self.steps = instructions()
        with open(os.path.join(ROOT, ".dockerignore"), encoding="utf-8") as handle:
            self.ignore = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        with open(os.path.join(ROOT, "Package.swift"), encoding="utf-8") as handle:
            self.manifest = handle.read()

    def runtime_stage(self):
        froms = [i for i, (word, _) in enumerate(self.steps) if word == "FROM"]
        self.assertEqual(len(froms), 2, "a build stage and a runtime stage")
        return self.steps[froms[-1]:]

    def test_every_file_copied_from_the_context_exists_and_is_sent(self):
        copies = 0
        for word, rest in self.steps:
            if word not in ("COPY", "ADD"):
                continue
            self.assertEqual(word, "COPY", "ADD fetches or unpacks implicitly: COPY only")
            arguments = [a for a in shlex.split(rest) if not a.startswith("--")]
            if "--from=" in rest:
                continue
            *sources, _destination = arguments
            for source in sources:
                matches = glob.glob(os.path.join(ROOT, source))
                if any(c in source for c in "*?["):
                    continue  # optional by design (Package.resolved*): the COPY holds another source
                self.assertTrue(matches, f"COPY {source}: not in the repository")
                self.assertFalse(ignored(source, self.ignore), f"COPY {source}: .dockerignore leaves it out")
                copies += 1
        self.assertGreaterEqual(copies, 3)

    def test_it_builds_the_tessera_product_and_copies_its_resource_bundles(self):
        build = " ".join(rest for word, rest in self.steps if word == "RUN")
        self.assertIn("swift build -c release --product tessera --static-swift-stdlib", build)
        self.assertRegex(self.manifest, r'\.executable\(name: "tessera", targets: \["tessera"\]\)')
        package = re.search(r'let package = Package\(\s*name: "([^"]+)"', self.manifest).group(1)
        # Each target with resources has a bundle <package>_<target>.resources that
        # Bundle.module looks for beside the executable.
        targets = re.findall(r'\.target\(\s*name: "([^"]+)"(?:(?!\.target\(|\.testTarget\(|\.executableTarget\().)*?resources:', self.manifest, re.S)
        self.assertIn("TesseraStore", targets)
        for target in targets:
            self.assertIn(f"{package}_{target}.resources", build)

    def test_runtime_is_slim_with_only_the_binary_and_runs_as_a_user(self):
        stage = self.runtime_stage()
        self.assertRegex(stage[0][1], r"^debian:[a-z]+-slim$")
        copies = [rest for word, rest in stage if word == "COPY"]
        self.assertTrue(all("--from=build" in rest for rest in copies), "the runtime takes only what the build made")
        users = [rest for word, rest in stage if word == "USER"]
        self.assertEqual(len(users), 1)
        self.assertNotRegex(users[0].split(":")[0], r"^(root|0)$")

    def test_health_check_on_healthz(self):
        checks = [rest for word, rest in self.steps if word == "HEALTHCHECK"]
        self.assertEqual(len(checks), 1)
        self.assertIn("/healthz", checks[0])
        self.assertIn("curl", checks[0])
        install = " ".join(rest for word, rest in self.runtime_stage() if word == "RUN")
        self.assertRegex(install, r"apt-get install .*\bcurl\b", "the check's curl is installed")

    def test_entrypoint_is_tessera_serve_as_the_readme_documents(self):
        stage = dict((word, rest) for word, rest in self.runtime_stage() if word in ("ENTRYPOINT", "CMD"))
        entrypoint = json.loads(stage["ENTRYPOINT"])  # exec form: a JSON list
        command = json.loads(stage["CMD"])
        self.assertEqual([os.path.basename(entrypoint[0])] + entrypoint[1:] + command, ["tessera", "serve"])
        self.assertTrue(any(entrypoint[0] == f"{destination}/tessera"
                            for word, rest in self.runtime_stage() if word == "COPY"
                            for destination in [rest.split()[-1]]), "the entrypoint is the copied binary")
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
            self.assertIn("| `tessera serve [", handle.read())
        environment = " ".join(rest for word, rest in self.runtime_stage() if word == "ENV")
        self.assertIn("TESSERA_HOST=0.0.0.0", environment)

    def test_the_rds_ca_bundle_is_where_the_database_urls_look(self):
        secrets = Module.at(os.path.join(TERRAFORM, "modules", "tessera"))
        path = secrets.locals["rds_ca_file"]
        fetch = " ".join(rest for word, rest in self.runtime_stage() if word == "RUN")
        self.assertIn(f"-o {path} ", fetch)
        self.assertIn("truststore.pki.rds.amazonaws.com/global/global-bundle.pem", fetch)

    def test_the_task_definitions_use_the_image_as_it_is_built(self):
        app = Module.at(os.path.join(TERRAFORM, "modules", "app"))
        port = app.locals["container_port"]
        self.assertIn(f"TESSERA_PORT={port}", " ".join(rest for word, rest in self.steps if word == "ENV"))
        self.assertIn(f"EXPOSE {port}", [f"{word} {rest}" for word, rest in self.steps])


if __name__ == "__main__":
    unittest.main()
