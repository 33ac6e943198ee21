"""Reference for test/unit/dicom-tags.test.ts: every data element of each file as pydicom reads it.

Usage: .venv/bin/python test/python/tags_reference.py FILE... > out.json
Prints {file: {"elements": [...]} | {"error": str}}; each element is {tag, keyword, vr, depth, private,
creator, value} in file order (meta header first), sequence items' elements at depth + 1. `value` is text for
string VRs (multi-values joined with a backslash), a list of numbers for binary numbers, a list of "(gggg,eeee)"
for AT, and null for bytes and sequences.
"""
import json
import sys

import pydicom
from pydicom.multival import MultiValue

NUMBERS = {"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"}
BYTES = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}


def value_of(elem):
    vr, value = elem.VR, elem.value
    if vr in BYTES or vr == "SQ":
        return None
    values = list(value) if isinstance(value, (MultiValue, list, tuple)) else ([] if value is None or value == "" else [value])
    if vr in NUMBERS:
        return [float(v) if vr in ("FL", "FD") else int(v) for v in values]
    if vr == "AT":
        return [str(pydicom.tag.Tag(v)) for v in values]
    return "\\".join(str(v) for v in values)


def walk(ds, depth, out):
    for elem in ds:
        out.append({
            "tag": str(elem.tag),
            "keyword": elem.keyword,
            "vr": elem.VR,
            "depth": depth,
            "private": elem.tag.is_private,
            "creator": elem.private_creator if elem.tag.is_private and not elem.tag.is_private_creator else None,
            "value": value_of(elem),
        })
        if elem.VR == "SQ":
            for item in elem.value:
                walk(item, depth + 1, out)


def main() -> None:
    result = {}
    for path in sys.argv[1:]:
        try:
            ds = pydicom.dcmread(path, force=True)
            elements = []
            walk(ds.file_meta, 0, elements)
            walk(ds, 0, elements)
            result[path] = {"elements": elements}
        except Exception as err:  # noqa: BLE001 - the test reports what pydicom said
            result[path] = {"error": f"{type(err).__name__}: {err}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
