/**
 * The Pulumi program: the stack's config → one validated StackConfig → one MailSubmission per host → outputs.
 * Everything is validated before the first resource is registered; defaults, the production one included, come
 * from the schema (config/schema.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStack } from "./config/parse";
import { MailSubmission } from "./mailSubmission";
import { HOST_OUTPUT_NAMES } from "./outputs";

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
pulumi.log.info(`production rules: ${stack.production ? "on" : "off"} (stack ${pulumi.getStack()})`);
export const production = stack.production;

export const hosts = Object.fromEntries(
  stack.hosts.map((host) => {
    const m = new MailSubmission(host.name, host);
    return [host.name, Object.fromEntries(HOST_OUTPUT_NAMES.map((name) => [name, m[name]]))];
  }),
);
