import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../verify/args";
import { parseStackHosts, readStackHosts } from "../../verify/stack";

const SHA = "AB".repeat(32);
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

// What `pulumi stack output hosts --json` prints for the program in components/program.ts.
const output = {
  "stg-mx1": {
    endpoints: ["submissions://mx1.staging.example.com:465", "submission://mx1.staging.example.com:587", "imaps://mx1.staging.example.com:993", "pop3s://mx1.staging.example.com:995"],
    certificateSha256: SHA, certificateNotAfter: "2027-01-01T00:00:00Z", caCertificatePem: CA,
    dnsRecords: ["_submissions._tcp.staging.example.com. 3600 IN SRV 0 1 465 mx1.staging.example.com."], firewallBackend: "nftables",
    autoconfigXml: "<clientConfig/>", appleMobileconfig: "<plist/>", autoconfigUrls: ["https://autoconfig.staging.example.com/mail/config-v1.1.xml"],
  },
  // As an older stack exported it, before the autoconfiguration outputs: verify must still read it.
  "stg-mx2": { endpoints: ["submission://mx2.staging.example.com:587"], certificateSha256: SHA, caCertificatePem: null, dnsRecords: [], firewallBackend: "ufw" },
};

describe("verify: targets from the stack's hosts output", () => {
  it("makes one target per host, connecting to the endpoints' name, with the stack's CA and fingerprint", () => {
    expect(parseStackHosts(JSON.stringify(output), "staging")).toEqual([
      { label: "stg-mx1", address: "mx1.staging.example.com", hostname: "mx1.staging.example.com", services: { submissions: 465, submission: 587 }, mailbox: { imaps: 993, pop3s: 995 }, caPem: CA, certificateSha256: SHA.toLowerCase() },
      // 465 switched off in its config: not in the endpoints, so not expected to answer; no mailbox service, none checked.
      { label: "stg-mx2", address: "mx2.staging.example.com", hostname: "mx2.staging.example.com", services: { submission: 587 }, certificateSha256: SHA.toLowerCase() },
    ]);
  });

  it.each([
    ["not json", /output "hosts" is not JSON/],
    ["{}", /lists no host/],
    [JSON.stringify({ mx1: { endpoints: "submissions://a:465" } }), /hosts\.mx1\.endpoints: /],
    [JSON.stringify({ mx1: { endpoints: [], certificateSha256: "xyz" } }), /hosts\.mx1\.certificateSha256: /],
    [JSON.stringify({ mx1: { endpoints: ["imaps://a.example.com:993"] } }), /host mx1 exports no submission endpoint/],
    [JSON.stringify({ mx1: { endpoints: ["submissions://a.example.com"] } }), /has no port/],
    [JSON.stringify({ mx1: { endpoints: ["submissions://a.example.com:465", "submission://b.example.com:587"] } }), /endpoints name two hosts/],
    [JSON.stringify({ mx1: { endpoints: ["::"] } }), /"::" is not a URL/],
  ])("refuses %s", (json, message) => {
    expect(() => parseStackHosts(json, "staging")).toThrow(UsageError);
    expect(() => parseStackHosts(json, "staging")).toThrow(message);
  });
});

describe("verify: reading the stack through the pulumi CLI", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  /** A stand-in `pulumi` first on PATH: answers the one command verify must run, and fails anything else. */
  function fakePulumi(body: string): void {
    const dir = mkdtempSync(join(tmpdir(), "verify-pulumi-"));
    writeFileSync(join(dir, "pulumi"), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, "pulumi"), 0o755);
    process.env.PATH = `${dir}:${path}`;
  }

  it("runs pulumi stack output hosts --json --stack <name>", async () => {
    const json = JSON.stringify({ mx1: { endpoints: ["submissions://mail.example.com:465"] } });
    fakePulumi(`[ "$*" = "stack output hosts --json --stack production" ] || { echo "unexpected: $*" >&2; exit 1; }\necho '${json}'`);
    expect(await readStackHosts("production", 5000)).toEqual([{ label: "mx1", address: "mail.example.com", hostname: "mail.example.com", services: { submissions: 465 } }]);
  });

  it("passes on what pulumi says when it fails", async () => {
    fakePulumi(`echo "error: no stack named 'nope' found" >&2; exit 255`);
    await expect(readStackHosts("nope", 5000)).rejects.toThrow("could not read the outputs of stack nope: error: no stack named 'nope' found");
  });
});
