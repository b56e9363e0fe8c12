#!/usr/bin/env python3
"""Checks `stasisctl schema`: it is a valid draft-07 JSON Schema, every example
policy validates against it, and every planted-bad file fails it.

Usage: policy_schema_test.py STASISCTL EXAMPLES_DIR BAD_DIR
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml


def main():
    stasisctl, examples_dir, bad_dir = sys.argv[1:4]
    schema = json.loads(subprocess.run([stasisctl, "schema"], check=True,
                                       capture_output=True, text=True).stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    failures = 0

    # examples/monitoring/ holds Prometheus rules, not policies.
    examples = sorted(p for p in glob.glob(os.path.join(examples_dir, "**", "*.yaml"), recursive=True)
                      if os.sep + "monitoring" + os.sep not in p)
    if len(examples) < 7:
        print(f"FAIL: expected at least 7 examples in {examples_dir}, found {len(examples)}")
        failures += 1
    for path in examples:
        with open(path) as f:
            document = yaml.safe_load(f)
        errors = list(validator.iter_errors(document))
        for error in errors:
            print(f"FAIL: {path}: {'/'.join(map(str, error.path))}: {error.message}")
        failures += bool(errors)
        print(f"{'ok  ' if not errors else 'BAD '} {path}")

    bad = sorted(glob.glob(os.path.join(bad_dir, "*.yaml")))
    if not bad:
        print(f"FAIL: no planted-bad files in {bad_dir}")
        failures += 1
    for path in bad:
        with open(path) as f:
            document = yaml.safe_load(f)
        if validator.is_valid(document):
            print(f"FAIL: {path} is wrong but passes the schema")
            failures += 1
        else:
            print(f"ok   {path} fails the schema as it should")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
