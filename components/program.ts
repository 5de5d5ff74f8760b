/**
 * The Pulumi program: the stack's config → one validated StackConfig → one MailSubmission per host → outputs.
 * Everything is validated before the first resource is registered; defaults, the production one included, come
 * from the schema (config/schema.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseStack } from "./config/parse";
import { MailSubmission, type MailSubmissionArgs } from "./mailSubmission";
import { HOST_OUTPUT_NAMES } from "./outputs";

/**
 * Pulumi runs this program compiled (Pulumi.yaml's main, dist/components/program.js, made by `npm run build`). A
 * source edited since the last build would be deployed as its old self without a word, so the compiled program in
 * a checkout refuses to run older than any file under components/ (scripts/build.sh touches the stamp last).
 */
function refuseStaleBuild(): void {
  const sources = join(__dirname, "../../components");
  // Run from its source (the unit tests, under Pulumi's mocks), or compiled without its sources, there is nothing to compare.
  if (!__filename.endsWith(".js") || !existsSync(sources)) return;
  const built = statSync(join(__dirname, "../.build-stamp"), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newer = readdirSync(sources, { recursive: true, encoding: "utf8" }).find((f) => /\.(ts|sh)$/.test(f) && statSync(join(sources, f)).mtimeMs > built);
  if (newer !== undefined) throw new pulumi.RunError(`components/${newer} is newer than the compiled program in dist/: run npm run build`);
}

refuseStaleBuild();
const config = new pulumi.Config();

function readStack() {
  try {
    if (config.get("environment") !== undefined) {
      throw new ConfigError(["environment: replaced by production: true|false (production rules; default: true for stacks named production, prod or prd)"]);
    }
    return parseStack({
      stack: pulumi.getStack(),
      production: config.getBoolean("production"),
      allowSelfSignedInProduction: config.getBoolean("allowSelfSignedInProduction"),
      // The nightly drift job turns the read on for one run without touching the stack's config.
      driftCheck: process.env.MAIL_SUBMISSION_DRIFT_CHECK === "1" || config.getBoolean("driftCheck"),
      hosts: config.getObject<unknown>("hosts"),
    });
  } catch (e) {
    // A config mistake is the operator's to fix: print just our message, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const stack = readStack();
// Production turns some features on by default: say so, so that nobody finds out from the host.
const productionDefaults = stack.production
  ? "; on by default: DKIM signing, bans of password guessers, per-login sending limits (dkim.enabled, bans.enabled, limits.outbound: false turn one off)"
  : "";
pulumi.log.info(`production rules: ${stack.production ? "on" : "off"} (stack ${pulumi.getStack()})${productionDefaults}`);
export const production = stack.production;

export const hosts = Object.fromEntries(
  stack.hosts.map((host) => {
    // A validated host is valid args (the schema reads its own output back the same); only the args interface's
    // arrays are mutable, as the analyzer of other languages' SDKs needs them, and HostConfig is frozen.
    const m = new MailSubmission(host.name, host as unknown as MailSubmissionArgs);
    return [host.name, Object.fromEntries(HOST_OUTPUT_NAMES.map((name) => [name, m[name]]))];
  }),
);
