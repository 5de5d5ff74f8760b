/**
 * The npm package as a library user gets it: `npm pack` (whose prepack builds dist/), the tarball unpacked into a
 * node_modules of its own, and the entry, the host scripts and the verify command used from there by plain `node`
 * with no Pulumi engine around. The packages it depends on come from this repository's node_modules (NODE_PATH),
 * as an install would provide them; examples/typescript is type-checked against it. Also the compiled stack
 * program's refusal to run older than its sources.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROGRAMS } from "../../components/steps";

const ROOT = join(__dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "ms-package-"));
const installed = join(work, "node_modules", "mail-submission");
let shipped: string[] = [];

/** `node -e script` in a bare environment: no PULUMI_* variables, no engine to talk to. */
function node(script: string, args: string[] = [], cwd = work): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["-e", script, "--", ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", NODE_PATH: join(ROOT, "node_modules") },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every host script under components/, by its path there (what host/program.ts reads relative to itself). */
const hostScripts = (): string[] =>
  readdirSync(join(ROOT, "components"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".sh"))
    .sort();

beforeAll(() => {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [pack] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (pack === undefined) throw new Error(`npm pack printed no package: ${out}`);
  shipped = pack.files.map((f) => f.path).sort();
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["xzf", join(work, pack.filename), "-C", installed, "--strip-components=1"]);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the npm package", () => {
  it("ships its entry point and declarations where package.json says they are", () => {
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      main: string;
      types: string;
      exports: Record<string, { types: string; default: string } | string>;
      bin: Record<string, string>;
      private?: boolean;
    };
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports["."]).toEqual({ types: `./${manifest.types}`, default: `./${manifest.main}` });
    expect(shipped).toEqual(expect.arrayContaining([manifest.main, manifest.types, "dist/components/mailSubmission.d.ts", manifest.bin["mail-submission-verify"] ?? "no bin"]));
  });

  it("ships every host script beside the compiled module that reads it", () => {
    const named = [...new Set(["host/lib.sh", "firewall/nft-sync.sh", ...PROGRAMS.flatMap((p) => p.files)])].sort();
    // The programs' files are among the scripts checked, so the list below cannot pass by being empty.
    expect(hostScripts()).toEqual(expect.arrayContaining(named));
    expect(shipped).toEqual(expect.arrayContaining(hostScripts().map((f) => `dist/components/${f}`)));
  });

  it("ships only the build, the verify command and its manifest: no sources, tests, stacks or stack program", () => {
    expect(shipped.filter((f) => !/^dist\/.*\.(js|d\.ts|sh)$/.test(f) && !["package.json", "README.md", "verify/bin.js"].includes(f))).toEqual([]);
    expect(shipped.filter((f) => /^(dist\/)?(test|stacks|scripts|examples)\/|^dist\/components\/program\./.test(f))).toEqual([]);
  });

  it("exports the component and verify's checks, and importing it runs nothing", () => {
    const r = node(`const m = require("mail-submission"); console.log(JSON.stringify(Object.keys(m).map((k) => k + ":" + typeof m[k])));`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // One line, ours: no stack output, no log line, no complaint about a missing engine or stack config.
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual(
      expect.arrayContaining(["MailSubmission:function", "ConfigError:function", "HOST_OUTPUT_NAMES:object", "verifyAll:function", "readStackHosts:function", "renderTable:function"]),
    );
  });

  it("reads every host program from the unpacked package", () => {
    const r = node(
      `const d = process.argv[1] + "/dist/components/";
       const { PROGRAMS, stepScript } = require(d + "steps.js");
       for (const p of PROGRAMS) console.log(p.name, stepScript(p.name).includes("set -euo pipefail"));
       console.log("nft-sync", require(d + "firewall/step.js").nftSyncScript().startsWith("#!"));`,
      [installed],
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trimEnd().split("\n")).toEqual([...PROGRAMS.map((p) => `${p.name} true`), "nft-sync true"]);
  });

  it("type-checks examples/typescript against the packed declarations", () => {
    // The example's own files beside a node_modules holding the unpacked package and, as an install would, the
    // packages its declarations name (its own node_modules would need the registry).
    const example = join(work, "example");
    cpSync(join(ROOT, "examples/typescript"), example, { recursive: true, filter: (src) => !src.includes("node_modules") });
    for (const dep of ["@pulumi", "@types", "zod"]) symlinkSync(join(ROOT, "node_modules", dep), join(work, "node_modules", dep));
    // Without the libraries' own checks (Pulumi's take seconds): what they would catch in ours is the next test's.
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--skipLibCheck", "-p", example], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("declares types only in terms of Node.js and the packages it depends on", () => {
    const { dependencies } = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const named = new Set<string>();
    for (const file of shipped.filter((f) => f.endsWith(".d.ts"))) {
      const text = readFileSync(join(installed, file), "utf8");
      for (const m of text.matchAll(/from "([^"]+)"|import\("([^"]+)"\)|reference types="([^"]+)"/g)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? "";
        if (spec.startsWith(".")) continue;
        // A type from a devDependency (an @types package, say) would leave a user's build without it.
        named.add(spec.startsWith("node:") || spec === "node" ? "node" : spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"));
      }
    }
    expect(named).toContain("@pulumi/pulumi");
    expect([...named].filter((p) => p !== "node" && !(p in dependencies))).toEqual([]);
  });

  it("runs mail-submission-verify from the unpacked package", () => {
    const r = spawnSync(process.execPath, [join(installed, "verify/bin.js"), "--help"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", NODE_PATH: join(ROOT, "node_modules") } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: mail-submission-verify /);
  });
});

describe("the compiled stack program", () => {
  // A checkout's shape: the build beside the sources it was built from (the pack above built dist/).
  const checkout = join(work, "checkout");
  const program = join(checkout, "dist/components/program.js");
  beforeAll(() => {
    cpSync(join(ROOT, "dist"), join(checkout, "dist"), { recursive: true, preserveTimestamps: true });
    cpSync(join(ROOT, "components"), join(checkout, "components"), { recursive: true, preserveTimestamps: true });
    const stamp = join(checkout, "dist/.build-stamp");
    const builtAt = new Date();
    utimesSync(stamp, builtAt, builtAt);
  });

  it("runs when nothing under components/ is newer than its build", () => {
    const r = node(`require(process.argv[1])`, [program], checkout);
    // Past the check, it reads the stack config, which no engine gave it.
    expect(r.stderr).toMatch(/invalid mail-submission configuration/);
    expect(r.stderr).not.toMatch(/newer than the compiled program/);
  });

  it("starts as Pulumi.yaml starts it: the nodeargs preload resolves from main's directory, where Pulumi runs it", () => {
    const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { main: string; runtime: { options: { nodeargs: string } } };
    const nodeargs = project.runtime.options.nodeargs.split(/\s+/);
    expect(nodeargs[0]).toBe("--require");
    const r = spawnSync(process.execPath, [...nodeargs, "-e", "console.log(require('node:module').getCompileCacheDir() ?? 'none')"], {
      cwd: join(checkout, dirname(project.main)),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).not.toBe("none");
  });

  it("refuses to run older than a source, naming it and the build to run", () => {
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(checkout, "components/host/lib.sh"), later, later);
    const r = node(`require(process.argv[1])`, [program], checkout);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/components\/host\/lib\.sh is newer than the compiled program in dist\/: run npm run build/);
  });
});
