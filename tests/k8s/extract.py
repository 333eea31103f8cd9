#!/usr/bin/env python3
"""Extracts the batch/v1 Job schema from the kubernetes-validate wheel.

Usage: python3 extract.py WHEEL_DIR_OR_ZIP VERSION OUT_DIR
e.g.   pip download kubernetes-validate==1.37.0 --no-deps -d /tmp/kv
       python3 tests/k8s/extract.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl v1.37.0 tests/k8s

Copies job-batch-v1.json verbatim and writes _definitions.json holding only
the definitions the Job schema reaches (each one verbatim), so that the
checked-in copy is a few hundred kB instead of the whole API's 1.8 MB.
"""
import json
import re
import sys
import zipfile

src, version, out = sys.argv[1:4]
folder = f"kubernetes_validate/kubernetes-json-schema/{version}-local-strict"
with zipfile.ZipFile(src) as z:
    job = z.read(f"{folder}/job-batch-v1.json").decode()
    defs = json.loads(z.read(f"{folder}/_definitions.json"))

ref = re.compile(r'#/\$defs/([\w.\-]+)')
seen, todo = set(), ref.findall(job)
while todo:
    name = todo.pop()
    if name not in seen:
        seen.add(name)
        todo += ref.findall(json.dumps(defs["$defs"][name]))

trimmed = dict(defs)
trimmed["$defs"] = {k: v for k, v in defs["$defs"].items() if k in seen}
with open(f"{out}/job-batch-v1.json", "w") as f:
    f.write(job)
with open(f"{out}/_definitions.json", "w") as f:
    json.dump(trimmed, f, indent=2)
    f.write("\n")
print(f"{len(seen)} of {len(defs['$defs'])} definitions")
