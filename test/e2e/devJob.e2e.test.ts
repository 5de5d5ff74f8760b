/**
 * The README's main job, as a newcomer runs it: `npm run dev:up` boots the sandbox host and deploys the dev stack with
 * `pulumi up`; every command it prints is then run exactly as printed (parsed from its output, not retyped), with
 * the password typed where swaks asks for it; `npm run dev:down` takes it all away again.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../harness/engine";
import { listHosts } from "../harness/sandbox";

interface Run {
  code: number | null;
  output: string;
}

/** A command line as a user's shell runs it, from the project's directory, with `input` typed at its prompts. */
function shell(line: string, input = "", timeoutMs = 900_000): Promise<Run> {
  return new Promise((done) => {
    // --norc: with its stdin a socket (node's pipes), bash would read ~/.bashrc as if sshd had started it.
    const child = spawn("bash", ["--norc", "-c", line], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
    child.stdin.end(input);
  });
}

describe("the dev job (README quick start)", () => {
  let up: Run;
  const printed = (pattern: RegExp): string[] => up.output.split("\n").map((l) => l.trim()).filter((l) => pattern.test(l));

  afterAll(async () => {
    await shell("npm run --silent dev:down");
  }, 600_000);

  it("a fresh login shell finds the node, npm and pulumi that setup prepared", async () => {
    const r = await shell(`env -i HOME=${process.env.HOME ?? "/root"} TERM=dumb bash -lc 'node --version; npm --version; pulumi version'`, "", 60_000);
    expect(r.code, r.output).toBe(0);
    const [node, npm, pulumi] = r.output.split("\n").filter((l) => /^v?\d/.test(l));
    expect(Number(/^v(\d+)\./.exec(node ?? "")?.[1])).toBeGreaterThanOrEqual(22);
    expect(npm).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pulumi).toMatch(/^v3\.\d+\.\d+$/);
  });

  it("npm run dev:up deploys the dev stack with pulumi up and prints what to do next", async () => {
    up = await shell("npm run --silent dev:up");
    expect(up.code, up.output.slice(-3000)).toBe(0);
    expect(up.output).toMatch(/Updating \(dev\)/);
    expect(up.output).toMatch(/Resources:\n\s+\+ \d+ created/);
    expect(up.output).toContain("The dev stack is deployed: pulumi up --stack dev, on the sandbox host 10.231.0.2");
    expect(existsSync("/var/lib/mail-submission-dev/ca.pem")).toBe(true);
  }, 900_000);

  it("each printed swaks command delivers a message, with the password typed at its prompt", async () => {
    const password = /which is (\S+):$/m.exec(up.output)?.[1];
    expect(password).toBe("dev-sandbox-password");
    const commands = printed(/^swaks /);
    expect(commands).toHaveLength(2);
    for (const line of commands) {
      const r = await shell(line, `${password}\n`, 60_000);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/<~ {2}235 2\.7\.0 Authentication successful/);
      expect(r.output).toMatch(/<~ {2}250 2\.0\.0 Ok: queued as/);
    }
  }, 180_000);

  it("the printed verify command passes as printed", async () => {
    const [line] = printed(/^VERIFY_PASSWORD=\S+ npm run verify -- /);
    expect(line).toBeDefined();
    const r = await shell(line ?? "false", "", 180_000);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/verify: \d+ PASS, 0 WARN, 0 FAIL/);
  }, 180_000);

  it("the printed command reads the delivered messages", async () => {
    const line = /^Read the delivered mail:\s+(.+)$/m.exec(up.output)?.[1];
    const r = await shell(line ?? "false", "", 60_000);
    expect(r.code, r.output).toBe(0);
    expect((r.output.match(/^From demo@sandbox\.test /gm) ?? []).length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("a second dev:up changes nothing and runs nothing on the host", async () => {
    const again = await shell("npm run --silent dev:up");
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(again.output).toMatch(/Resources:\n\s+\d+ unchanged/);
    expect(again.output).not.toMatch(/^\s+[+~-] \d+ (created|updated|deleted|replaced)/m);
  }, 300_000);

  it("with the host gone (a reboot takes sandbox hosts away), dev:up deploys a new one afresh, not from the old state", async () => {
    const sandbox = /^Read the delivered mail:\s+bash (\S+) ssh/m.exec(up.output)?.[1];
    expect((await shell(`bash ${sandbox ?? "missing"} down dev`)).code).toBe(0);
    const again = await shell("npm run --silent dev:up");
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(again.output).toContain("no dev host is running: forgetting the state of the one before");
    expect(again.output).toMatch(/Resources:\n\s+\+ \d+ created/);
    const [verify] = printed(/^VERIFY_PASSWORD=\S+ npm run verify -- /);
    const r = await shell(verify ?? "false", "", 180_000);
    expect(r.output).toMatch(/verify: \d+ PASS, 0 WARN, 0 FAIL/);
  }, 900_000);

  it("npm run dev:down removes the deployment and the host", async () => {
    const down = await shell("npm run --silent dev:down");
    expect(down.code, down.output).toBe(0);
    expect(down.output).toMatch(/Destroying \(dev\)/);
    expect((await listHosts()).map((h) => h.name)).not.toContain("dev");
    expect(existsSync("/var/lib/mail-submission-dev")).toBe(false);
  }, 600_000);
});
