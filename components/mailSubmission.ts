/**
 * One mail submission endpoint: certificate, Dovecot SASL, Postfix 465/587, firewall, checked from the host.
 * The class is a thin shell: validation, the certificate, the steps and the outputs each live in their own module.
 * Its args are the interface generated from the schema (args.ts), the one Pulumi's analyzer reads for every
 * language: plain args are validated at once, args holding Inputs once their values are known.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderAutoconfig } from "./autoconfig/render";
import { certificateFacts, servedFacts } from "./certificate/facts";
import { createCertificate, type CertificateMaterials } from "./certificate/resource";
import { certificateBundle } from "./certificate/step";
import { checkBundle } from "./check/step";
import type { MailSubmissionArgs } from "./args";
import { holdsInputs, settle, type Settled } from "./config/inputs";
import { ConfigError, hostWarnings, knownHostProblems, parseHost } from "./config/parse";
import type { HostConfig } from "./config/resolve";
import { createDkimKeys, type DkimKey } from "./dkim/keys";
import { renderDkimRecords, renderPolicySuggestions } from "./dkim/records";
import { dkimBundle } from "./dkim/step";
import { bansBundle } from "./bans/step";
import { ratelimitBundle } from "./ratelimit/step";
import { renderSrvRecords } from "./dns/render";
import { dovecotHash } from "./dovecot/passwordHash";
import { dovecotBundle } from "./dovecot/step";
import { nextToken, readDrift } from "./drift/read";
import { firewallBundle } from "./firewall/step";
import { enabledServices, ports } from "./host/contract";
import { stepCommand, stepWarnings } from "./host/program";
import { packagesBundle } from "./packages/step";
import { postfixStepBundle } from "./postfix/step";
import { HOST_OUTPUT_NAMES, type HostOutputName } from "./outputs";
import { STEPS, stepOrder, stepStdin, type StepName } from "./steps";

export type { MailSubmissionArgs };
type HostOutputs = { [K in HostOutputName]: MailSubmission[K] };

/** Every output, each made by `f` from its name. */
const eachOutput = (f: (k: HostOutputName) => pulumi.Output<unknown>): HostOutputs => Object.fromEntries(HOST_OUTPUT_NAMES.map((k) => [k, f(k)])) as unknown as HostOutputs;

/** Values the component keeps secret whatever they arrive as; any other input arriving secret makes the outputs secret. */
const SECRET_INPUT = /(^|\.)privateKey$|^users\[\d+\]\.password$|^certificate\.(chainPem|keyPem)$|^certificate\.challenge\.credentials\.[A-Z0-9_]+$/;

export class MailSubmission extends pulumi.ComponentResource {
  /** URIs of the enabled services, e.g. submissions://mail.example.com:465. */
  readonly endpoints: pulumi.Output<string[]>;
  /** SHA-256 fingerprint of the served certificate (hex). */
  readonly certificateSha256: pulumi.Output<string>;
  /** The certificate's notAfter, ISO 8601. */
  readonly certificateNotAfter: pulumi.Output<string>;
  /** `stack` where the stack made or was given the certificate; `host` where the host renews it (acme, host modes). */
  readonly certificateSource: pulumi.Output<string>;
  /** The internal CA certificate that clients should trust (`ca` mode only). */
  readonly caCertificatePem: pulumi.Output<string | undefined>;
  /** SRV records for RFC 6186/8314 autoconfiguration, as zone-file lines. */
  readonly dnsRecords: pulumi.Output<string[]>;
  /** The firewall backend the host turned out to use. */
  readonly firewallBackend: pulumi.Output<string>;
  /** Mozilla's config-v1.1.xml; undefined without IMAPS and POP3S (autoconfig/render.ts). */
  readonly autoconfigXml: pulumi.Output<string | undefined>;
  /** Apple's .mobileconfig, unsigned; undefined without IMAPS and POP3S (autoconfig/mobileconfig.ts). */
  readonly appleMobileconfig: pulumi.Output<string | undefined>;
  /** Where autoconfigXml is to be published, for each served domain. */
  readonly autoconfigUrls: pulumi.Output<string[]>;
  /** DKIM TXT records to publish, zone-file lines; retired selectors stay until dropped from the config. */
  readonly dkimRecords: pulumi.Output<string[]>;
  /** Suggested SPF and DMARC records for the signing domains. */
  readonly mailPolicySuggestions: pulumi.Output<string[]>;

  constructor(name: string, args: MailSubmissionArgs, opts?: pulumi.ComponentResourceOptions) {
    // Plain args are validated before anything is registered: a bad config must not leave half a resource graph behind.
    const host = holdsInputs(args) ? undefined : parseHost({ name, ...args }, name);
    super("mail-submission:index:MailSubmission", name, {}, opts);
    const { outputs, registered } = host === undefined ? this.whenKnown(name, settle({ name, ...args })) : { outputs: this.build(name, host, []), registered: undefined };
    this.endpoints = outputs.endpoints;
    this.certificateSha256 = outputs.certificateSha256;
    this.certificateNotAfter = outputs.certificateNotAfter;
    this.certificateSource = outputs.certificateSource;
    this.caCertificatePem = outputs.caCertificatePem;
    this.dnsRecords = outputs.dnsRecords;
    this.firewallBackend = outputs.firewallBackend;
    this.autoconfigXml = outputs.autoconfigXml;
    this.appleMobileconfig = outputs.appleMobileconfig;
    this.autoconfigUrls = outputs.autoconfigUrls;
    this.dkimRecords = outputs.dkimRecords;
    this.mailPolicySuggestions = outputs.mailPolicySuggestions;
    this.registerOutputs(registered ?? outputs);
  }

  /**
   * Args holding Inputs: validated, and the host's resources registered, once their values are known. Errors are
   * the component's, all at once as for plain args. While a value is unknown (a preview before the resource it
   * comes from exists), the known keys are checked against their grammar and the steps wait for `up`.
   */
  private whenKnown(name: string, settling: Promise<Settled>): { outputs: HostOutputs; registered: HostOutputs } {
    const built = settling.then((s) => {
      if (s.unknown.length > 0) {
        const problems = knownHostProblems(s.value, s.unknown, name);
        if (problems.length > 0) throw new pulumi.ResourceError(new ConfigError(problems).message, this, true);
        pulumi.log.info(`${name}: not known yet: ${s.unknown.join(", ")}; the rest checked, and the steps planned, once known (at up)`, this);
        const unknown = s.pending ?? pulumi.output(undefined);
        return eachOutput(() => unknown.apply(() => undefined));
      }
      let host: HostConfig;
      try {
        host = parseHost(s.value, name);
      } catch (e) {
        if (e instanceof ConfigError) throw new pulumi.ResourceError(e.message, this, true);
        throw e;
      }
      const outputs = this.build(name, host, s.resources);
      const tainted = s.secret.some((path) => !SECRET_INPUT.test(path));
      return tainted ? eachOutput((k) => pulumi.secret(outputs[k] as pulumi.Output<unknown>)) : outputs;
    });
    // Each output follows the built one, its secrecy and known-ness included (apply flattens the Output it returns).
    // A config error rejects them all with the one ResourceError, which Pulumi reports once, as this component's;
    // the outputs registered for the engine become undefined instead, or their serialization would report it again.
    const ready = pulumi.output(true);
    const follow = (onError?: () => undefined) => eachOutput((k) => ready.apply(() => built.then((o) => o[k] as pulumi.Output<unknown>, onError)));
    return { outputs: follow(), registered: follow(() => undefined) };
  }

  /** The host's resources from its validated config; `deps` are the resources its inputs came from. */
  private build(name: string, host: HostConfig, deps: readonly pulumi.Resource[]): HostOutputs {
    for (const warning of hostWarnings(host, name)) pulumi.log.warn(warning, this);
    const cert = createCertificate(name, host, this);
    const dkimKeys = createDkimKeys(name, host, this);
    const steps = this.createSteps(name, host, { pair: cert, dkimKeys }, deps);
    // The stack's own pair is known before any host is touched; a pair the host made (acme, host) is the one the
    // certificate step last reported serving: the host is the source of truth there, and `verify` is the check.
    const facts = cert ? pulumi.unsecret(cert.chainPem).apply(certificateFacts) : pulumi.unsecret(steps.certificate.stdout.apply(servedFacts));
    // What a step warns about (e.g. Postfix on the host's own main.cf) reaches the operator; steps that see secrets
    // have secret output and say nothing that needs passing on.
    for (const step of STEPS.filter((s) => !s.sensitive)) {
      steps[step.name].stderr.apply((stderr) => {
        for (const warning of stepWarnings(stderr)) pulumi.log.warn(`${name} ${step.name} step: ${warning}`, this);
      });
    }
    const autoconfig = renderAutoconfig(host);
    return {
      certificateSha256: facts.sha256,
      certificateNotAfter: facts.notAfter,
      certificateSource: pulumi.output(cert ? "stack" : "host"),
      caCertificatePem: cert?.caCertPem ?? pulumi.output(undefined),
      endpoints: pulumi.output(endpoints(host)),
      dnsRecords: pulumi.output(renderSrvRecords(host)),
      autoconfigXml: pulumi.output(autoconfig.autoconfigXml),
      appleMobileconfig: pulumi.output(autoconfig.appleMobileconfig),
      autoconfigUrls: pulumi.output(autoconfig.autoconfigUrls),
      dkimRecords: pulumi
        .all(dkimKeys.map((k) => k.publicKeyPem))
        .apply((pems) => renderDkimRecords(host.dkim.domains, dkimKeys.map((k, i) => ({ algorithm: k.algorithm, selector: k.selector, publicKeyPem: pems[i] ?? "" })))),
      mailPolicySuggestions: pulumi.output(host.dkim.enabled ? renderPolicySuggestions(host.dkim.domains, host.hostname) : []),
      firewallBackend: steps.firewall.stdout.apply((out) => /backend=(\S+)/.exec(out)?.[1] ?? "unknown"),
    };
  }

  private createSteps(name: string, host: HostConfig, m: StepMaterials, deps: readonly pulumi.Resource[]): Record<StepName, command.remote.Command> {
    const bundles: Record<Exclude<StepName, "check">, pulumi.Output<string>> = {
      packages: pulumi.output(packagesBundle(host)),
      certificate: pulumi.secret(
        m.pair ? pulumi.all([m.pair.chainPem, m.pair.keyPem]).apply(([chainPem, keyPem]) => certificateBundle(host, { chainPem, keyPem })) : certificateBundle(host),
      ),
      dovecot: pulumi.secret(userHashes(host).apply((hashes) => dovecotBundle(host, hashes))),
      dkim: pulumi.secret(activeDkimKeys(m.dkimKeys).apply((keys) => dkimBundle(host, keys))),
      postfix: pulumi.output(postfixStepBundle(host)),
      ratelimit: pulumi.output(ratelimitBundle(host)),
      firewall: pulumi.output(firewallBundle(host)),
      bans: pulumi.output(bansBundle(host)),
    };
    const created = {} as Record<StepName, command.remote.Command>;
    // The check compares the served certificate with the one the stack made, or, where the host renews it, with the
    // pair installed when the check runs; it re-runs whenever the certificate step installs another.
    const checkInput = (): pulumi.Output<string> =>
      m.pair
        ? pulumi.unsecret(m.pair.chainPem).apply((c) => checkBundle(host, certificateFacts(c).sha256))
        : pulumi.unsecret(created.certificate.stdout.apply((o) => checkBundle(host, "installed", servedFacts(o).sha256)));
    const bundleOf = (step: StepName): pulumi.Output<string> => (step === "check" ? checkInput() : bundles[step]);
    const sudo = host.connection.user !== "root";
    const connection = connectionArgs(host);
    const apply = this.applyCommands(name, host, sudo);
    for (const step of STEPS) {
      created[step.name] = new command.remote.Command(
        `${name}-${step.name}`,
        {
          connection,
          // create and update carry the same run token; only the drift read ever moves it (drift/read.ts).
          create: apply[step.name],
          update: apply[step.name],
          // The delete runs with the stdin stored at create: the program that applied is the one that removes.
          delete: stepCommand("remove", sudo),
          stdin: bundleOf(step.name).apply((bundle) => stepStdin(step.name, bundle)),
          // The previous stdout would be passed as environment variables, which sshd drops without AcceptEnv.
          addPreviousOutputInEnv: false,
          // Not streamed: a failed step's error carries its output anyway, so streaming would print our reason twice.
          logging: "none",
        },
        {
          parent: this,
          // The resources the inputs came from too: a step SSHes into that server, and must be removed before it goes.
          dependsOn: [...stepOrder(host, step).map((s) => created[s]), ...deps],
          additionalSecretOutputs: step.sensitive ? ["stdout", "stderr", "stdin"] : [],
          // Should a step ever be replaced, the old one's `remove` must not run after (and undo) the new `apply`.
          deleteBeforeReplace: true,
          // Without the drift read there is no token to compare: the recorded commands stand (no SSH at all).
          ignoreChanges: host.driftCheck ? [] : ["create", "update"],
        },
      );
    }
    return created;
  }

  /**
   * Each step's apply command. With driftCheck, the host is read first (one SSH session), every drifted item is
   * named in a warning, and a drifted step gets the next token, so that Pulumi shows it changed and `up` re-runs it.
   */
  private applyCommands(name: string, host: HostConfig, sudo: boolean): Record<StepName, pulumi.Output<string>> {
    if (!host.driftCheck) return Object.fromEntries(STEPS.map((s) => [s.name, pulumi.output(stepCommand("apply", sudo, 0))])) as Record<StepName, pulumi.Output<string>>;
    const c = host.connection;
    const keys = pulumi.all([pulumi.secret(c.privateKey), pulumi.secret(c.bastion?.privateKey ?? "")]);
    const report = keys.apply(async ([privateKey, bastionKey]) => {
      const r = await readDrift(host, { privateKey, ...(c.bastion ? { bastionKey } : {}) });
      for (const step of STEPS) {
        if (r.drifted[step.name].length > 0) pulumi.log.warn(`drift on ${name}: ${step.name} step: ${r.drifted[step.name].join(", ")}`, this);
      }
      for (const notice of r.notices) pulumi.log.warn(`${name}: ${notice}`, this);
      return r;
    });
    return Object.fromEntries(STEPS.map((s) => [s.name, pulumi.unsecret(report.apply((r) => stepCommand("apply", sudo, nextToken(r, s.name))))])) as Record<StepName, pulumi.Output<string>>;
  }
}

/** What the steps are made of, beside the config: the stack's certificate pair (none where the host makes it) and the DKIM keys. */
interface StepMaterials {
  readonly pair: CertificateMaterials | undefined;
  readonly dkimKeys: readonly DkimKey[];
}

/** The private key that signs now, by algorithm. */
function activeDkimKeys(keys: readonly DkimKey[]): pulumi.Output<Record<string, string>> {
  const active = keys.filter((k) => k.active);
  return pulumi.all(active.map((k) => k.privateKeyPem)).apply((pems) => Object.fromEntries(active.map((k, i) => [k.algorithm, pems[i] ?? ""])));
}

/** Password hashes, computed here so that no password ever leaves this process; secret because derived from one. */
function userHashes(host: HostConfig): pulumi.Output<{ name: string; hash: string }[]> {
  return pulumi.all(
    host.users.map((u) =>
      u.passwordHash !== undefined
        ? pulumi.output({ name: u.name, hash: u.passwordHash })
        : pulumi.secret(u.password ?? "").apply((pw) => ({ name: u.name, hash: dovecotHash(pw, u.name) })),
    ),
  );
}

function connectionArgs(host: HostConfig): command.types.input.remote.ConnectionArgs {
  const c = host.connection;
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    privateKey: pulumi.secret(c.privateKey),
    hostKey: c.hostKey,
    proxy: c.bastion && {
      host: c.bastion.host,
      port: c.bastion.port,
      user: c.bastion.user,
      privateKey: pulumi.secret(c.bastion.privateKey),
      hostKey: c.bastion.hostKey,
    },
  };
}

function endpoints(host: HostConfig): string[] {
  return enabledServices(host.services).map((s) => `${s}://${host.hostname}:${ports[s]}`);
}
