#!/usr/bin/env python3
"""Fails when a target imports a module its Package.swift entry does not declare.

SwiftPM's `--explicit-target-dependency-import-check` only sees imports of this package's
own targets, and skips test targets on Linux; a product that arrives through another
dependency (HTTPTypes through Hummingbird, say) builds today and breaks the day that
dependency drops it. This reads the manifest (`swift package dump-package`) and every
source file's imports, and names each import no declared dependency provides.
"""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the platform: no package provides them.
SYSTEM = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl",
    "Darwin", "XCTest", "Testing", "Synchronization", "_Concurrency", "os", "CoreFoundation",
}
IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
                    r"import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
                    re.MULTILINE)


def module_name(target_name):
    return re.sub(r"[^A-Za-z0-9_]", "_", target_name)


def declared_modules(target):
    modules = set()
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                modules.add(module_name(dependency[kind][0]))
    return modules


def target_path(target):
    if target.get("path"):
        return target["path"]
    root = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(root, target["name"])


def imports_of(path, excluded):
    found = {}
    for directory, _, files in os.walk(path):
        if any(os.path.join(path, e) in directory for e in excluded):
            continue
        for name in files:
            if name.endswith(".swift"):
                file = os.path.join(directory, name)
                with open(file, encoding="utf-8") as source:
                    for module in IMPORT.findall(source.read()):
                        found.setdefault(module, file)
    return found


def main():
    manifest = json.loads(subprocess.run(
        ["swift", "package", "dump-package"], check=True, capture_output=True, text=True).stdout)
    problems = []
    for target in manifest["targets"]:
        own = module_name(target["name"])
        declared = declared_modules(target) | SYSTEM | {own}
        for module, file in sorted(imports_of(target_path(target), target.get("exclude", [])).items()):
            if module not in declared:
                problems.append(f"{file}: target {target['name']} imports {module}, which its dependencies do not declare")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} undeclared import(s): add the product to the target in Package.swift", file=sys.stderr)
        return 1
    print(f"Every import of the {len(manifest['targets'])} targets is declared in Package.swift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
