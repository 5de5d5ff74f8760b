/**
 * The real Pulumi engine, driven through the Automation API (LocalWorkspace on this project's own program): every
 * host change in the e2e suite and the bench is a `pulumi up`, `preview` or `destroy` of a stack of ours. The CLI and
 * plugins come from PATH and PULUMI_HOME (scripts/setup.sh puts them there); state is a local file backend per test
 * run, encrypted with a passphrase. A test stack's config never goes into the project's stacks/: see testProject.
 */
import { LocalWorkspace, type EngineEvent, type ProjectSettings, type Stack } from "@pulumi/pulumi/automation";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

export const PROJECT_ROOT = resolve(__dirname, "../..");
/** One state directory per test run, removed by the global teardown. */
export const STATE_DIR = process.env.MS_E2E_STATE_DIR ?? "/tmp/mail-submission-e2e-state";
export const PASSPHRASE = "mail-submission e2e passphrase";

/** What the engine and the program see: local state, no update check, no plugin download. */
export const ENGINE_ENV: Record<string, string> = {
  PULUMI_BACKEND_URL: `file://${STATE_DIR}`,
  PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  PULUMI_SKIP_UPDATE_CHECK: "1",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
};

/**
 * The project as a test stack sees it: this project's Pulumi.yaml with `main` pointing back at the compiled program
 * (dist/components/program.js: the global setup and the bench build it first), and without `stackConfigDir`.
 * Written into a directory of the stack's own under STATE_DIR, it makes the CLI keep the stack's Pulumi.<stack>.yaml
 * there (the project has one name, so it is the same project to the backend).
 */
function testProject(): ProjectSettings {
  const { stackConfigDir: _configDir, ...project } = parse(readFileSync(join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as ProjectSettings & { stackConfigDir?: string };
  // Without a main, Pulumi runs the project directory itself, as here.
  return { ...project, main: join(PROJECT_ROOT, project.main ?? "") };
}

/** `npm run build`: what every path that runs pulumi does first, since Pulumi.yaml's main is the compiled program. */
export function buildProgram(): void {
  execFileSync("bash", [join(PROJECT_ROOT, "scripts/build.sh")], { stdio: "inherit" });
}

export interface StackConfig {
  hosts: Record<string, unknown>[];
  production?: boolean;
  allowSelfSignedInProduction?: boolean;
}

/** A value that goes into the stack's config as a Pulumi secret (`pulumi config set --secret --path`). */
export interface SecretAt {
  path: string;
  value: string;
}

export interface EngineRun {
  /** Everything the CLI printed, as a user would see it. */
  output: string;
  /** Resource operations by step type, e.g. { update: 2, same: 13 }. */
  changes: Record<string, number>;
}

export class EngineStack {
  private constructor(
    readonly name: string,
    readonly stack: Stack,
  ) {}

  /** Creates (or takes over) the stack `name` and writes its config; secrets go in encrypted. */
  static async create(name: string, config: StackConfig, secrets: SecretAt[] = []): Promise<EngineStack> {
    const workDir = join(STATE_DIR, "projects", name);
    mkdirSync(workDir, { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir }, { envVars: ENGINE_ENV, projectSettings: testProject() });
    const self = new EngineStack(name, stack);
    await self.configure(config, secrets);
    return self;
  }

  /**
   * Replaces the stack's config. Written after `stack init` (which creates the file with its encryption salt), the
   * values as JSON (a subset of YAML); the salt line is kept so that secrets stay readable.
   */
  async configure(config: StackConfig, secrets: SecretAt[] = []): Promise<void> {
    const file = join(this.workDir, `Pulumi.${this.name}.yaml`);
    const salt = /^encryptionsalt: (\S+)$/m.exec(readFileSync(file, "utf8"))?.[1];
    const values: Record<string, unknown> = { "mail-submission:hosts": config.hosts };
    if (config.production !== undefined) values["mail-submission:production"] = config.production;
    if (config.allowSelfSignedInProduction !== undefined) values["mail-submission:allowSelfSignedInProduction"] = config.allowSelfSignedInProduction;
    writeFileSync(file, `${salt === undefined ? "" : `encryptionsalt: ${salt}\n`}config: ${JSON.stringify(values)}\n`);
    if (secrets.length > 0) {
      await this.stack.setAllConfig(
        Object.fromEntries(secrets.map((s) => [`mail-submission:${s.path}`, { value: s.value, secret: true }])),
        true,
      );
    }
  }

  async up(opts: { replace?: string[]; onEvent?: (e: EngineEvent) => void } = {}): Promise<EngineRun> {
    let output = "";
    const timer = stepSpans();
    const onEvent = (e: EngineEvent) => {
      timer.onEvent(e);
      opts.onEvent?.(e);
    };
    const r = await this.stack.up({ onOutput: (o) => (output += o), color: "never", replace: opts.replace, onEvent });
    for (const s of timer.spans().filter((x) => x.seconds >= SLOW_SECONDS)) process.stderr.write(`engine: ${this.name}: slow step: ${s.name} took ${s.seconds.toFixed(1)} s\n`);
    return { output, changes: countChanges(r.summary.resourceChanges) };
  }

  /** `up` that is expected to fail: resolves with the output instead of throwing. */
  async upFailing(opts: { replace?: string[] } = {}): Promise<{ ok: boolean; output: string }> {
    let output = "";
    try {
      await this.stack.up({ onOutput: (o) => (output += o), color: "never", replace: opts.replace });
      return { ok: true, output };
    } catch (e) {
      return { ok: false, output: `${output}\n${e instanceof Error ? e.message : String(e)}` };
    }
  }

  async preview(opts: { expectNoChanges?: boolean; diff?: boolean } = {}): Promise<EngineRun & { ok: boolean }> {
    let output = "";
    try {
      const r = await this.stack.preview({ onOutput: (o) => (output += o), color: "never", expectNoChanges: opts.expectNoChanges, diff: opts.diff });
      return { ok: true, output, changes: countChanges(r.changeSummary) };
    } catch (e) {
      return { ok: false, output: `${output}\n${e instanceof Error ? e.message : String(e)}`, changes: {} };
    }
  }

  async outputs(): Promise<Record<string, unknown>> {
    const out = await this.stack.outputs();
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
  }

  /**
   * The stack's state as `pulumi stack export` writes it, secrets encrypted. (The Automation API's exportStack()
   * asks for --show-secrets, so the CLI is called directly.)
   */
  async exportText(): Promise<string> {
    const r = await this.cli(["stack", "export"]);
    if (r.code !== 0) throw new Error(`pulumi stack export failed: ${r.output}`);
    return r.output;
  }

  /** The URN of one of a host's steps, e.g. urn("mx1", "check"), for `up --replace`. */
  async urn(host: string, step: string): Promise<string> {
    const state = (await this.stack.exportStack()).deployment as { resources?: { urn: string }[] };
    const urn = state.resources?.map((r) => r.urn).find((u) => u.endsWith(`::${host}-${step}`));
    if (urn === undefined) throw new Error(`no resource ${host}-${step} in stack ${this.name}`);
    return urn;
  }

  async destroy(): Promise<EngineRun> {
    let output = "";
    const r = await this.stack.destroy({ onOutput: (o) => (output += o), color: "never" });
    return { output, changes: countChanges(r.summary.resourceChanges) };
  }

  /** The stack's own project directory: its Pulumi.yaml and its config. */
  get workDir(): string {
    return this.stack.workspace.workDir;
  }

  /** Deletes the stack, its state and its directory without touching the hosts: for hosts that are thrown away next. */
  async forget(): Promise<void> {
    await this.stack.workspace.removeStack(this.name, { force: true });
    rmSync(this.workDir, { recursive: true, force: true });
  }

  /** Destroys what is left and deletes the stack with its config file, even after a test left an update running. */
  async remove(): Promise<void> {
    const destroyed = await this.stack.destroy({ color: "never" }).then(
      () => true,
      () => false,
    );
    if (!destroyed) {
      await this.stack.cancel().catch(() => undefined);
      await this.stack.destroy({ color: "never" }).catch(() => undefined);
    }
    await this.forget();
  }

  /**
   * `pulumi <args> --stack <name>` as a separate process, for what the Automation API cannot do: killing the CLI
   * with SIGKILL. Resolves when it exits.
   */
  cli(args: string[], opts: { killAfter?: () => Promise<void> } = {}): Promise<{ code: number | null; signal: string | null; output: string }> {
    return new Promise((done) => {
      const child = spawn("pulumi", [...args, "--stack", this.name, "--non-interactive", "--color", "never"], {
        cwd: this.workDir,
        env: { ...process.env, ...ENGINE_ENV },
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("close", (code, signal) => done({ code, signal, output }));
      if (opts.killAfter) void opts.killAfter().then(() => child.kill("SIGKILL"));
    });
  }
}

/** A step that took this long in an `up` is named on stderr, so that a slow run says where its time went. */
const SLOW_SECONDS = 30;

/** Each step's seconds in one engine run, from its events (a step's pre-event to its outputs), by resource name. */
export function stepSpans(): { onEvent: (e: EngineEvent) => void; spans: () => { name: string; seconds: number }[] } {
  const started = new Map<string, number>();
  const spans: { name: string; seconds: number }[] = [];
  return {
    onEvent(e) {
      const urn = e.resourcePreEvent?.metadata.urn ?? e.resOutputsEvent?.metadata.urn;
      if (urn === undefined || !urn.includes("command:remote:Command::")) return;
      const since = started.get(urn);
      if (e.resourcePreEvent) started.set(urn, Date.now());
      else if (since !== undefined) spans.push({ name: urn.slice(urn.lastIndexOf("::") + 2), seconds: (Date.now() - since) / 1000 });
    },
    spans: () => spans,
  };
}

function countChanges(summary: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(summary ?? {}).filter(([, n]) => n > 0));
}
