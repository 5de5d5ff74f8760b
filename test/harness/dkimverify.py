"""A DKIM verifier we did not write: Debian's python3-dkim (dkimpy), fed the component's TXT records through its
DNS hook instead of a resolver. Reads a message on stdin, the zone-file lines from the file named first; prints one
JSON object per DKIM-Signature: its d=, s=, a=, h= tags and whether dkimpy verified it."""
import json
import re
import sys

import dkim
from dkim.util import parse_tag_value

records = {}
with open(sys.argv[1], encoding="ascii") as zone:
    for line in zone:
        fields = line.split(None, 4)
        if len(fields) == 5 and fields[3] == "TXT":
            records[fields[0].rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', fields[4]))


def dnsfunc(name, timeout=5):
    text = records.get((name.decode() if isinstance(name, bytes) else name).rstrip(".").lower())
    return text.encode() if text is not None else None


message = sys.stdin.buffer.read()
verifier = dkim.DKIM(message)
signatures = [value for (name, value) in verifier.headers if name.lower() == b"dkim-signature"]
results = []
for index, value in enumerate(signatures):
    tags = parse_tag_value(re.sub(rb"\s+", b"", value))
    ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
    results.append({key: tags.get(key.encode(), b"").decode() for key in ("d", "s", "a", "h")} | {"ok": bool(ok)})
print(json.dumps(results))
