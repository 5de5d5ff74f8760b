/**
 * The Pulumi program: the stack's config → one validated StackConfig → one MailSubmission per host → outputs.
 * Everything is validated before the first resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStack } from "./config";
import { MailSubmission } from "./mailSubmission";

const config = new pulumi.Config();

function readStack() {
  try {
    return parseStack({
      environment: config.get("environment") ?? pulumi.getStack(),
      allowSelfSignedInProduction: config.getBoolean("allowSelfSignedInProduction"),
      hosts: config.getObject<unknown>("hosts"),
    });
  } catch (e) {
    // A config mistake is the operator's to fix: print just our message, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const stack = readStack();

export const hosts = Object.fromEntries(
  stack.hosts.map((host) => {
    const m = new MailSubmission(host.name, host);
    return [
      host.name,
      {
        endpoints: m.endpoints,
        certificateSha256: m.certificateSha256,
        certificateNotAfter: m.certificateNotAfter,
        caCertificatePem: m.caCertificatePem,
        dnsRecords: m.dnsRecords,
        firewallBackend: m.firewallBackend,
      },
    ];
  }),
);
