/**
 * An offline ACME CA for the e2e hosts: Pebble (Debian's 2.4.0) on this machine's bridge address, and knot as the
 * authoritative server of `sandbox.test`, which Pebble resolves names with and lego's rfc2136 provider updates for
 * dns-01. Pebble validates http-01 on the host's port 80 at whatever A record knot serves, so a test points the
 * name at its host with `setAddress` first. Everything lives in one temp dir; nothing in /etc or systemd is touched.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { isIPv4 } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";

export interface AcmeServer {
  /** https://10.231.0.1:14000/dir */
  readonly directory: string;
  /** PEM of the CA that signed Pebble's own HTTPS certificate (hosts trust it via LEGO_CA_CERTIFICATES). */
  readonly apiCaPem: string;
  /** knot's address as host:port, e.g. "10.231.0.1:53" */
  readonly dnsAddress: string;
  /** TSIG for rfc2136 updates: lego env names RFC2136_NAMESERVER, RFC2136_TSIG_ALGORITHM ("hmac-sha256."), RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET */
  readonly tsig: { name: string; algorithm: string; secret: string };
  /** Sets (replaces) the A record of `name` (fully qualified in sandbox.test) to `address`, via a TSIG dynamic update; resolves when knot answers it. */
  setAddress(name: string, address: string): Promise<void>;
  /** Pebble's current root certificate PEM (management API /roots/0). */
  rootPem(): Promise<string>;
  /** Pebble's current intermediate certificate PEM (management API /intermediates/0). */
  intermediatePem(): Promise<string>;
  /**
   * Stops / starts Pebble only (knot stays), for the "ACME server down" test. startPebble waits until the directory
   * answers. Pebble keeps no state: a restart makes a NEW root and intermediate and forgets accounts and orders, so
   * fetch rootPem() again after it, and expect clients to re-register.
   */
  stopPebble(): Promise<void>;
  startPebble(): Promise<void>;
  /** Stops both and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

const ZONE = "sandbox.test";
const PEBBLE_PORT = 14000;
const MANAGEMENT_PORT = 15000;
const START_TIMEOUT_MS = 20_000;

/** A child with its log file; `exited` settles when it is gone, whoever ended it. */
interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
  logPath: string;
  logOffset: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and a cert for the bind address (and 127.0.0.1) for Pebble's own HTTPS: Debian ships none. */
function makeApiCert(dir: string, bindAddress: string): string {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(["req", "-x509", ...ec, "-subj", "/CN=pebble API test CA", "-keyout", "api-ca.key", "-out", "api-ca.pem",
    "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  writeFileSync(join(dir, "api.ext"), `subjectAltName=IP:${bindAddress},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  openssl(["req", ...ec, "-subj", `/CN=${bindAddress}`, "-keyout", "api.key", "-out", "api.csr"], dir);
  openssl(["x509", "-req", "-in", "api.csr", "-CA", "api-ca.pem", "-CAkey", "api-ca.key", "-set_serial", "1",
    "-days", "30", "-extfile", "api.ext", "-out", "api.pem"], dir);
  return readFileSync(join(dir, "api-ca.pem"), "utf8");
}

function writePebbleConfig(dir: string, bindAddress: string): string {
  const path = join(dir, "pebble.json");
  const pebble = {
    listenAddress: `${bindAddress}:${PEBBLE_PORT}`,
    managementListenAddress: `${bindAddress}:${MANAGEMENT_PORT}`,
    certificate: join(dir, "api.pem"),
    privateKey: join(dir, "api.key"),
    httpPort: 80,
    tlsPort: 443,
    ocspResponderURL: "",
    externalAccountBindingRequired: false,
  };
  writeFileSync(path, JSON.stringify({ pebble }, null, 2));
  return path;
}

// Journal only (zonefile-sync -1): dynamic updates never rewrite the zone file, and the temp dir holds all state.
function writeKnotConfig(dir: string, bindAddress: string, tsig: { name: string; secret: string }): string {
  writeFileSync(join(dir, `${ZONE}.zone`), [
    `$ORIGIN ${ZONE}.`,
    "$TTL 60",
    `@ SOA ns.${ZONE}. hostmaster.${ZONE}. 1 60 60 3600 60`,
    `@ NS ns.${ZONE}.`,
    `ns A ${bindAddress}`,
    "",
  ].join("\n"));
  // knotd creates neither its rundir (pid file, control socket) nor its database dir.
  mkdirSync(join(dir, "run"));
  mkdirSync(join(dir, "db"));
  const path = join(dir, "knot.conf");
  writeFileSync(path, `server:
  rundir: "${join(dir, "run")}"
  listen: ${bindAddress}@53
log:
  - target: stderr
    any: info
database:
  storage: "${join(dir, "db")}"
key:
  - id: ${tsig.name}
    algorithm: hmac-sha256
    secret: ${tsig.secret}
acl:
  - id: update
    key: ${tsig.name}
    action: update
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: ${ZONE}
    file: "${ZONE}.zone"
    acl: update
`);
  return path;
}

function startDaemon(cmd: string, args: string[], logPath: string, env: NodeJS.ProcessEnv = {}): Daemon {
  const logOffset = fileSize(logPath);
  const fd = openSync(logPath, "a");
  try {
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    return { child, exited, logPath, logOffset };
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What this run of the daemon logged (not earlier runs'), last lines only. */
function logTail(d: Daemon, lines = 30): string {
  const text = readFileSync(d.logPath).subarray(d.logOffset).toString("utf8");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill("SIGTERM");
  const killed = await Promise.race([d.exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!killed) {
    d.child.kill("SIGKILL");
    await d.exited;
  }
}

/** Poll `ready` until it is true; fail early with the log if the daemon died, or at the deadline. */
async function waitReady(d: Daemon, what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`${what} exited (${d.child.exitCode ?? d.child.signalCode}) while starting:\n${logTail(d)}`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) {
      await stopDaemon(d);
      throw new Error(`${what} did not answer within ${START_TIMEOUT_MS} ms:\n${logTail(d)}`);
    }
    await sleep(100);
  }
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function runTool(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? "");
  });
}

/** knot's answer for `name`/`type`, one rdata per line; "" on no answer or no reply. */
async function dig(bindAddress: string, name: string, type: string): Promise<string> {
  try {
    return (await runTool("kdig", [`@${bindAddress}`, "+short", "+time=1", "+retry=0", name, type])).trim();
  } catch {
    return "";
  }
}

function fqdnInZone(name: string): string {
  const fqdn = name.endsWith(".") ? name : `${name}.`;
  if (!fqdn.toLowerCase().endsWith(`.${ZONE}.`)) throw new Error(`setAddress: ${name} is not in ${ZONE}`);
  return fqdn;
}

// knotd binds a missing address anyway ("nonlocal bind") and then never answers: say why at once instead.
function assertLocalAddress(address: string): void {
  const local = Object.values(networkInterfaces()).flat().some((i) => i?.address === address);
  if (!local) throw new Error(`${address} is not an address of this machine (is bridge msbr0 up? a sandbox host brings it up)`);
}

export async function startAcmeServer(opts: { bindAddress?: string } = {}): Promise<AcmeServer> {
  const bindAddress = opts.bindAddress ?? "10.231.0.1";
  assertLocalAddress(bindAddress);
  const dir = mkdtempSync(join(tmpdir(), "ms-acme-"));
  const tsig = { name: "acme-update", algorithm: "hmac-sha256.", secret: randomBytes(32).toString("base64") };
  let knot: Daemon | undefined;
  let pebble: Daemon | undefined;
  let closed = false;

  // A test that dies without close() must not leave daemons holding :53 and :14000 for the next run.
  const killOnExit = (): void => {
    for (const d of [pebble, knot]) d?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", killOnExit);

  const apiCaPem = makeApiCert(dir, bindAddress);
  const pebbleConfig = writePebbleConfig(dir, bindAddress);
  const knotConfig = writeKnotConfig(dir, bindAddress, tsig);
  const directory = `https://${bindAddress}:${PEBBLE_PORT}/dir`;

  async function management(path: string): Promise<string> {
    const res = await httpsGet(`https://${bindAddress}:${MANAGEMENT_PORT}${path}`, apiCaPem);
    if (res.status !== 200) throw new Error(`pebble ${path}: HTTP ${res.status}: ${res.body}`);
    return res.body;
  }

  async function startPebble(): Promise<void> {
    if (pebble && pebble.child.exitCode === null && pebble.child.signalCode === null) return;
    // NOSLEEP: no random validation delay. NONCEREJECT=0: Pebble otherwise rejects ~5 % of good nonces on purpose.
    // AUTHZREUSE=0: every order is validated afresh (by default Pebble reuses half of the valid authorizations), so
    // that a renewal meets its challenge as it would at a CA whose authorizations have expired.
    pebble = startDaemon("pebble", ["-config", pebbleConfig, "-dnsserver", `${bindAddress}:53`], join(dir, "pebble.log"),
      { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" });
    await waitReady(pebble, "pebble", () => httpsGet(directory, apiCaPem).then((r) => r.status === 200, () => false));
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await Promise.all([stopDaemon(pebble), stopDaemon(knot)]);
    process.off("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    knot = startDaemon("knotd", ["-c", knotConfig], join(dir, "knot.log"));
    await waitReady(knot, "knotd", async () => (await dig(bindAddress, ZONE, "SOA")) !== "");
    await startPebble();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    directory,
    apiCaPem,
    dnsAddress: `${bindAddress}:53`,
    tsig,
    async setAddress(name, address) {
      if (!isIPv4(address)) throw new Error(`setAddress: ${address} is not an IPv4 address`);
      const fqdn = fqdnInZone(name);
      await runTool("knsupdate", [], [
        `server ${bindAddress} 53`,
        `zone ${ZONE}.`,
        `key hmac-sha256:${tsig.name} ${tsig.secret}`,
        `update delete ${fqdn} A`,
        `update add ${fqdn} 60 A ${address}`,
        "send",
        "",
      ].join("\n"));
      const deadline = Date.now() + 5_000;
      while ((await dig(bindAddress, fqdn, "A")) !== address) {
        if (Date.now() > deadline) throw new Error(`knot does not answer ${fqdn} A ${address} after the update`);
        await sleep(100);
      }
    },
    rootPem: () => management("/roots/0"),
    intermediatePem: () => management("/intermediates/0"),
    stopPebble: () => stopDaemon(pebble),
    startPebble,
    close,
  };
}
