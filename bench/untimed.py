#!/usr/bin/env python3
"""Prints a train artefact's JSON file without what differs from run to run,
keys sorted, so two runs' files compare as strings: the times of a model
search (keys millis, fit_millis and *_took) and, in a manifest, its creation
time and report.json's size and checksum (the report holds those times).

Usage: bench/untimed.py FILE (report.json or manifest.json)."""
import json
import sys


def drop(v):
    if isinstance(v, dict):
        for k in list(v):
            if k in ("millis", "fit_millis") or k.endswith("_took"):
                del v[k]
            else:
                drop(v[k])
    elif isinstance(v, list):
        for e in v:
            drop(e)


m = json.load(open(sys.argv[1]))
if isinstance(m, dict):
    m.pop("created", None)
    for f in m.get("files", []):
        if isinstance(f, dict) and f.get("name") == "report.json":
            f.pop("bytes", None), f.pop("sha256", None)
drop(m)
print(json.dumps(m, sort_keys=True))
