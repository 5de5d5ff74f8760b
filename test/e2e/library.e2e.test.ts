/**
 * The package as other programs use it, each a Pulumi project of its own copied out of examples/: a TypeScript
 * program that installs the `npm pack` tarball, and a Python program that takes the component through
 * `pulumi package add plugin/` (its SDK generated from our schema, `pulumi` from PyPI). Each deploys the same
 * sandbox host with `pulumi up`, is checked with real clients and a second, empty preview, and is destroyed. Also
 * the schema every language's SDK is made from, as `pulumi package get-schema` prints it.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { hostSchema } from "../../components/config/schema";
import { HOST_OUTPUT_NAMES } from "../../components/outputs";
import { ENGINE_ENV, PROJECT_ROOT, STATE_DIR } from "../harness/engine";
import { delivered, submit } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME } from "../harness/scenario";

interface Run {
  code: number | null;
  stdout: string;
  /** stdout and stderr as they came. */
  output: string;
}

/** A command in `cwd` with the engine's environment; `input` goes to its stdin (secrets never on a command line). */
function run(cwd: string, cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...ENGINE_ENV } });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => done({ code, stdout, output }));
    child.stdin.end(input ?? "");
  });
}

/** The command's output (stdout only with `stdoutOnly`), once it has succeeded. */
async function ok(cwd: string, cmd: string, args: string[], input?: string, stdoutOnly = false): Promise<string> {
  const r = await run(cwd, cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}):\n${r.output}`);
  return stdoutOnly ? r.stdout : r.output;
}

const pulumi = (cwd: string, stack: string, args: string[], input?: string, stdoutOnly = false) =>
  ok(cwd, "pulumi", [...args, "--stack", stack, "--non-interactive", "--color", "never"], input, stdoutOnly);

/** A copy of examples/<name> in a directory of its own, outside the repository, as a user's project would be. */
function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ms-example-${name}-`));
  cpSync(join(PROJECT_ROOT, "examples", name), dir, { recursive: true, filter: (src) => !/\/(node_modules|venv|sdks)(\/|$)/.test(src) });
  return dir;
}

/** The stack config both examples read: the host, its pinned key, the deploy key and the password as secrets. */
async function configure(dir: string, stack: string, sb: SandboxHost): Promise<void> {
  await pulumi(dir, stack, ["stack", "init"]);
  await pulumi(dir, stack, ["config", "set", "hostname", HOSTNAME]);
  await pulumi(dir, stack, ["config", "set", "--path", "connection.host", sb.address]);
  await pulumi(dir, stack, ["config", "set", "--path", "connection.hostKey", sb.hostKey]);
  await pulumi(dir, stack, ["config", "set", "--secret", "--path", "connection.privateKey"], readFileSync(sb.privateKeyPath, "utf8"));
  await pulumi(dir, stack, ["config", "set", "login", ALICE.name]);
  await pulumi(dir, stack, ["config", "set", "--secret", "password"], ALICE.password);
}

/** up, mail through 465 and 587 with the exported CA, nothing left to change, no secret in the state, destroy. */
async function deployAndCheck(dir: string, stack: string, sb: SandboxHost, label: string): Promise<string> {
  const up = await pulumi(dir, stack, ["up", "--yes"]);
  const outputs = JSON.parse(await pulumi(dir, stack, ["stack", "output", "--json", "--show-secrets"], undefined, true)) as { endpoints: string[]; caCertificatePem: string; hosts: { mx: Record<string, unknown> } };
  expect(outputs.endpoints).toEqual([`submissions://${HOSTNAME}:465`, `submission://${HOSTNAME}:587`]);
  for (const port of [465, 587] as const) {
    const subject = `${label} ${port} ${Date.now()}`;
    const r = await submit(
      { host: sb.address, port, tls: { servername: HOSTNAME, ca: outputs.caCertificatePem } },
      { user: ALICE.name, password: ALICE.password, mechanism: "PLAIN", from: ALICE.name, to: `root@${HOSTNAME}`, subject },
    );
    expect(r.auth.code, `${label} AUTH on ${port}`).toBe(235);
    expect(r.end?.code, `${label} DATA on ${port}`).toBe(250);
    expect(await delivered(sb, subject), `${label} delivery from ${port}`).toBeDefined();
  }
  const again = await pulumi(dir, stack, ["preview", "--expect-no-changes", "--diff"]);
  expect(again).not.toMatch(/^\s*[+~-] /m);
  const state = await pulumi(dir, stack, ["stack", "export"]);
  expect(state).not.toContain(ALICE.password);
  expect(state).not.toContain("PRIVATE KEY-----\n");
  await pulumi(dir, stack, ["destroy", "--yes"]);
  return up;
}

/**
 * A program whose server address is another resource's output: a local command standing for the VM the same
 * program creates, its stdout unknown until it has run.
 */
const FROM_RESOURCE = `import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { MailSubmission } from "mail-submission";

const config = new pulumi.Config();
const vm = new command.local.Command("vm", { create: \`echo \${config.require("address")}\` });
const mx = new MailSubmission("mx", {
  hostname: config.require("hostname"),
  connection: { host: vm.stdout.apply((s) => s.trim()), hostKey: config.require("hostKey"), privateKey: config.requireSecret("privateKey") },
  certificate: { mode: "ca" },
  users: [{ name: config.require("login"), password: config.requireSecret("password") }],
});
export const caCertificatePem = mx.caCertificatePem;
`;

describe("the package from other programs", () => {
  let sb: SandboxHost;
  let tarball: string;
  /** examples/typescript, installed: the program from another resource's output reuses its node_modules. */
  let tsExample: string;

  beforeAll(async () => {
    // The engine's state directory: the stacks here are made by the CLI, which does not create it.
    mkdirSync(STATE_DIR, { recursive: true });
    const packing = mkdtempSync(join(tmpdir(), "ms-pack-"));
    const [host, packed] = await Promise.all([
      upHost("e2e-lib", { release: "bookworm" }),
      ok(PROJECT_ROOT, "npm", ["pack", "--json", "--pack-destination", packing], undefined, true),
    ]);
    sb = host;
    const [pack] = JSON.parse(packed) as { filename: string }[];
    tarball = join(packing, pack?.filename ?? "");
  }, 900_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("gives every language a schema with the component, each input described, and its outputs", async () => {
    const schema = JSON.parse(await ok(PROJECT_ROOT, "pulumi", ["package", "get-schema", "./plugin"], undefined, true)) as {
      name: string;
      resources: Record<string, { isComponent?: boolean; requiredInputs: string[]; inputProperties: Record<string, { description?: string }>; properties: Record<string, unknown> }>;
      types: Record<string, { properties: Record<string, { description?: string }> }>;
    };
    expect(schema.name).toBe("mail-submission");
    const component = schema.resources["mail-submission:index:MailSubmission"];
    expect(component?.isComponent).toBe(true);
    expect(Object.keys(component?.inputProperties ?? {}).sort()).toEqual(Object.keys(z.toJSONSchema(hostSchema).properties ?? {}).sort());
    expect(component?.requiredInputs.sort()).toEqual(["connection", "hostname"]);
    const undocumented = [
      ...Object.entries(component?.inputProperties ?? {}).filter(([, p]) => !p.description).map(([k]) => k),
      ...Object.entries(schema.types).flatMap(([t, d]) => Object.entries(d.properties).filter(([, p]) => !p.description).map(([k]) => `${t}.${k}`)),
    ];
    expect(undocumented).toEqual([]);
    expect(Object.keys(component?.properties ?? {}).sort()).toEqual([...HOST_OUTPUT_NAMES].sort());
  }, 120_000);

  it("a TypeScript program deploys with the packed tarball", async () => {
    const dir = copyExample("typescript");
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    manifest.dependencies["mail-submission"] = `file:${tarball}`;
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
    await ok(dir, "npm", ["install", "--no-audit", "--no-fund"]);
    await ok(dir, "npx", ["tsc", "--noEmit"]);
    await configure(dir, "lib-ts", sb);
    const up = await deployAndCheck(dir, "lib-ts", sb, "typescript");
    expect(up).toContain("mail-submission:index:MailSubmission");
    tsExample = dir;
  }, 900_000);

  it("waits for an address that another resource gives: planned at up, deployed there, removed before that resource", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ms-from-resource-"));
    writeFileSync(join(dir, "Pulumi.yaml"), "name: mail-submission-from-resource\nruntime: nodejs\n");
    writeFileSync(join(dir, "index.ts"), FROM_RESOURCE);
    symlinkSync(join(tsExample, "node_modules"), join(dir, "node_modules"));
    const stack = "lib-from-resource";
    await pulumi(dir, stack, ["stack", "init"]);
    for (const [key, value] of [["hostname", HOSTNAME], ["address", sb.address], ["hostKey", sb.hostKey], ["login", ALICE.name]] as const) {
      await pulumi(dir, stack, ["config", "set", key, value]);
    }
    await pulumi(dir, stack, ["config", "set", "--secret", "privateKey"], readFileSync(sb.privateKeyPath, "utf8"));
    await pulumi(dir, stack, ["config", "set", "--secret", "password"], ALICE.password);
    // Before the command has run, its stdout is unknown: the known keys are checked, the steps wait for up.
    const preview = await pulumi(dir, stack, ["preview"]);
    expect(preview).toContain("mx: not known yet: connection.host");
    expect(preview).not.toContain("mx-packages");
    const up = await pulumi(dir, stack, ["up", "--yes"]);
    expect(up).toMatch(/mx-packages\s+created/);
    const ca = (JSON.parse(await pulumi(dir, stack, ["stack", "output", "--json"], undefined, true)) as { caCertificatePem: string }).caCertificatePem;
    const subject = `from a resource ${Date.now()}`;
    const r = await submit(
      { host: sb.address, port: 587, tls: { servername: HOSTNAME, ca } },
      { user: ALICE.name, password: ALICE.password, mechanism: "PLAIN", from: ALICE.name, to: `root@${HOSTNAME}`, subject },
    );
    expect(r.end?.code).toBe(250);
    await pulumi(dir, stack, ["preview", "--expect-no-changes"]);
    // The steps depend on the resource the address came from, so destroy removes them first.
    const destroy = await pulumi(dir, stack, ["destroy", "--yes"]);
    expect(destroy.indexOf("mx-packages")).toBeGreaterThan(-1);
    expect(destroy.search(/vm\s+deleted/)).toBeGreaterThan(destroy.search(/mx-packages\s+deleted/));
  }, 900_000);

  it("a Python program deploys through pulumi package add, with the SDK generated from the schema", async () => {
    const dir = copyExample("python");
    await ok(dir, "pulumi", ["package", "add", join(PROJECT_ROOT, "plugin")]);
    expect(readFileSync(join(dir, "requirements.txt"), "utf8")).toMatch(/^sdks\/mail-submission$/m);
    await configure(dir, "lib-py", sb);
    const up = await deployAndCheck(dir, "lib-py", sb, "python");
    // The component's steps ran under it, as in the TypeScript program.
    for (const step of ["packages", "postfix", "check"]) expect(up).toContain(`mx-${step}`);
  }, 900_000);
});
