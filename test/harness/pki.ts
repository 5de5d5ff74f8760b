/**
 * A throwaway internal CA and server certificates, made with openssl: the stand-in for the component's `ca`
 * mode, whose tls provider cannot run on this machine. The host receives them as `provided` PEMs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pki {
  caCertPem: string;
  issue(hostname: string, opts?: { days?: number; notBeforeDaysAgo?: number }): { chainPem: string; keyPem: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makePki(name = "mail-submission test CA"): Pki {
  const dir = mkdtempSync(join(tmpdir(), "ms-pki-"));
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`,
    "-keyout", "ca.key", "-out", "ca.pem", "-days", "400", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  const caCertPem = readFileSync(join(dir, "ca.pem"), "utf8");
  let serial = 0;
  return {
    caCertPem,
    issue(hostname, opts = {}) {
      serial += 1;
      const base = `leaf${serial}`;
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=DNS:${hostname}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
      openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${hostname}`, "-keyout", `${base}.key`, "-out", `${base}.csr`], dir);
      openssl(["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(1000 + serial),
        "-days", String(opts.days ?? 90), "-extfile", `${base}.ext`, "-out", `${base}.pem`], dir);
      return { chainPem: readFileSync(join(dir, `${base}.pem`), "utf8"), keyPem: readFileSync(join(dir, `${base}.key`), "utf8") };
    },
  };
}
