/** The third-party DKIM verifier (dkimverify.py, Debian's python3-dkim) on a delivered message. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface SignatureCheck {
  d: string;
  s: string;
  a: string;
  /** The signed header fields, as the h= tag lists them. */
  h: string;
  ok: boolean;
}

/** Debian's interpreter, where python3-dkim is installed (a pyenv python on PATH would not have it). */
const PYTHON = "/usr/bin/python3";

/**
 * Verifies every DKIM-Signature of a message as mbox delivery left it (its `From ` line dropped, lines ended in
 * CRLF as on the wire), against `records` (zone-file lines) only; the results in selector order.
 */
export function verifyDkim(delivered: string, records: readonly string[]): SignatureCheck[] {
  const dir = mkdtempSync(join(tmpdir(), "ms-dkim-"));
  writeFileSync(join(dir, "zone"), `${records.join("\n")}\n`);
  const message = delivered.replace(/^From [^\n]*\n/, "").replace(/\r?\n/g, "\r\n");
  const out = execFileSync(PYTHON, [resolve(__dirname, "dkimverify.py"), join(dir, "zone")], { input: message, encoding: "utf8" });
  // In selector order: each milter puts its signature on top, so the header order says nothing of interest.
  return (JSON.parse(out) as SignatureCheck[]).sort((a, b) => a.s.localeCompare(b.s));
}
