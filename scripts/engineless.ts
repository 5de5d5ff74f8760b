/**
 * `pulumi up` / `pulumi destroy` of a stack's hosts without the Pulumi engine: the same steps, command lines and
 * stdin the MailSubmission component would run, applied over SSH (test/e2e/support/apply.ts). For machines where
 * the engine cannot be installed (this workplace has no route to Pulumi's downloads). Usage:
 *   ts-node scripts/engineless.ts up|destroy <stack>
 * Hosts must name their SSH key by file (connection.privateKeyFile) and pin their host key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ConfigError, parseStack } from "../components/config";
import { applyHost, destroyHost } from "../test/e2e/support/apply";

interface RawHost {
  connection?: { privateKeyFile?: string };
}

async function main(action: string | undefined, stack: string | undefined): Promise<void> {
  if ((action !== "up" && action !== "destroy") || !stack) throw new Error("usage: engineless.ts up|destroy <stack>");
  const doc = parse(readFileSync(join(__dirname, "..", "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const raw = (doc.config["mail-submission:hosts"] ?? []) as RawHost[];
  const config = parseStack({ environment: doc.config["mail-submission:environment"] ?? stack, hosts: raw });
  for (const [i, host] of config.hosts.entries()) {
    const keyFile = raw[i]?.connection?.privateKeyFile;
    const { hostKey, host: address, port, user } = host.connection;
    if (keyFile === undefined || hostKey === undefined) throw new Error(`hosts[${i}]: needs connection.privateKeyFile and a pinned host key here`);
    const target = { name: host.name, address, port, user, privateKeyPath: keyFile, hostKey };
    console.error(`${action} ${host.name} (${user}@${address})`);
    const runs = action === "up" ? Object.values(await applyHost(target, host)) : await destroyHost(target, host);
    for (const run of runs) console.error(`  ${run.step} ${run.action}: ok ${run.stdout.trim().replaceAll("\n", "; ")}`);
  }
}

main(process.argv[2], process.argv[3]).catch((e: unknown) => {
  console.error(e instanceof ConfigError || e instanceof Error ? e.message : String(e));
  process.exit(1);
});
