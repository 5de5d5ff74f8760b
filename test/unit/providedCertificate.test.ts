import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, hostWarnings, parseHost } from "../../components/config/parse";
import { withChange } from "./fixtures";

/**
 * `provided` certificates are checked before any host is touched: each way a chain and key can be wrong is refused
 * with the key's path. The certificates are real ones made with openssl: a root, an intermediate, leaves.
 */
const dir = mkdtempSync(join(tmpdir(), "ms-provided-"));
const openssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
const read = (file: string): string => readFileSync(join(dir, file), "utf8");

openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=root", "-keyout", "root.key", "-out", "root.pem", "-days", "365",
  "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
writeFileSync(join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=intermediate", "-keyout", "int.key", "-out", "int.csr");
openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2", "-days", "365", "-extfile", "ca.ext", "-out", "int.pem");

let serial = 10;
/** A leaf for `names`, signed by the intermediate, valid for `days` (negative: expired that many days ago). */
function leaf(names: string[], days = 90): { chainPem: string; keyPem: string } {
  serial += 1;
  const base = `leaf${serial}`;
  writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${names[0]}`, "-keyout", `${base}.key`, "-out", `${base}.csr`);
  openssl("x509", "-req", "-in", `${base}.csr`, "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", String(serial), "-days", String(days), "-extfile", `${base}.ext`, "-out", `${base}.pem`);
  return { chainPem: read(`${base}.pem`) + read("int.pem"), keyPem: read(`${base}.key`) };
}

function problemsOf(certificate: Record<string, unknown>, change: (h: Record<string, unknown>) => void = () => undefined): string[] {
  try {
    parseHost(withChange((h) => ((h.certificate = { mode: "provided", ...certificate }), change(h))));
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("provided certificates, checked before any host is touched", () => {
  const good = leaf(["mail.example.com", "smtp.example.com"]);

  it("accept a leaf-first chain whose key matches and whose names cover the host", () => {
    expect(problemsOf(good, (h) => (h.extraSans = ["smtp.example.com"]))).toEqual([]);
  });

  it("refuse a key that does not belong to the certificate", () => {
    expect(problemsOf({ chainPem: good.chainPem, keyPem: leaf(["mail.example.com"]).keyPem })).toEqual([
      "args.certificate.keyPem: does not belong to the first certificate of the chain (CN=mail.example.com)",
    ]);
  });

  it("refuse a certificate that expired yesterday", () => {
    const [problem, ...rest] = problemsOf(leaf(["mail.example.com"], -1));
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^args\.certificate\.chainPem: the certificate expired on \d{4}-\d\d-\d\dT/);
  });

  it("refuse a certificate for another name, and one that misses an extra name", () => {
    expect(problemsOf(leaf(["other.example.net"]))).toEqual([
      "args.certificate.chainPem: the certificate does not cover mail.example.com (it names DNS:other.example.net)",
    ]);
    expect(problemsOf(leaf(["mail.example.com"]), (h) => (h.extraSans = ["smtp.example.com"]))).toEqual([
      "args.certificate.chainPem: the certificate does not cover smtp.example.com (it names DNS:mail.example.com)",
    ]);
  });

  it("refuse what is not PEM at all with the key's path, instead of failing later", () => {
    expect(problemsOf({ chainPem: "hello", keyPem: "world" })).toEqual([
      "args.certificate.chainPem: is not a PEM certificate chain (no BEGIN CERTIFICATE block)",
      expect.stringMatching(/^args\.certificate\.keyPem: is not a PEM private key \(/),
    ]);
  });

  it("refuse a chain in the wrong order", () => {
    const reversed = read("int.pem") + good.chainPem.replace(read("int.pem"), "");
    expect(problemsOf({ chainPem: reversed, keyPem: good.keyPem })).toContain(
      "args.certificate.chainPem: certificate 2 did not issue certificate 1: the order must be the server's certificate first, then each intermediate",
    );
  });

  it("refuse an encrypted key", () => {
    writeFileSync(join(dir, "plain.key"), good.keyPem);
    openssl("pkey", "-in", "plain.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key");
    expect(problemsOf({ chainPem: good.chainPem, keyPem: read("encrypted.key") })).toEqual([
      "args.certificate.keyPem: is encrypted (give the key without a passphrase)",
    ]);
  });

  it("read files the same way, naming the key", () => {
    writeFileSync(join(dir, "bad-chain.pem"), "not a certificate\n");
    expect(problemsOf({ chainFile: join(dir, "bad-chain.pem"), keyPem: good.keyPem })).toEqual([
      "args.certificate.chainPem: is not a PEM certificate chain (no BEGIN CERTIFICATE block)",
    ]);
  });

  it("warn, without refusing, when the certificate is within its renewal window", () => {
    const soon = leaf(["mail.example.com"], 10);
    const host = parseHost(withChange((h) => (h.certificate = { mode: "provided", ...soon })), "mx1");
    const [warning, ...rest] = hostWarnings(host, "mx1");
    expect(rest).toEqual([]);
    expect(warning).toMatch(/^mx1\.certificate: the certificate expires on \S+, within earlyRenewalHours \(720 h\): renew it and run pulumi up$/);
    expect(hostWarnings(parseHost(withChange((h) => (h.certificate = { mode: "provided", ...good }))), "mx1")).toEqual([]);
    const quiet = parseHost(withChange((h) => (h.certificate = { mode: "provided", ...soon, earlyRenewalHours: 24 })), "mx1");
    expect(hostWarnings(quiet, "mx1")).toEqual([]);
  });
});
