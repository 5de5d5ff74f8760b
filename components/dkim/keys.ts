/**
 * The DKIM keys, made with the tls provider so that the private halves are Pulumi secrets from the start and the
 * public halves are known at program time for the records. One key per selector and algorithm, shared by the
 * signing domains; the next selector's key exists (and is published) before it signs, and a retired selector keeps
 * its key (and record) until the operator drops it from the config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { HostConfig } from "../config/resolve";
import type { DkimAlgorithm } from "../host/contract";
import { dkimAlgorithms, selectorFor } from "./render";

export interface DkimKey {
  readonly algorithm: DkimAlgorithm;
  readonly selector: string;
  /** Signs now (the others, next and retired, are there for the records only). */
  readonly active: boolean;
  /** PKCS#8, the form opendkim reads for both algorithms. Secret. */
  readonly privateKeyPem: pulumi.Output<string>;
  readonly publicKeyPem: pulumi.Output<string>;
}

/** RSA-2048, RFC 8301's floor and what every verifier reads; Ed25519 per RFC 8463. */
const KEY_ARGS: Record<DkimAlgorithm, tls.PrivateKeyArgs> = { rsa: { algorithm: "RSA", rsaBits: 2048 }, ed25519: { algorithm: "ED25519" } };

export function createDkimKeys(name: string, host: HostConfig, parent: pulumi.Resource): DkimKey[] {
  const algorithms = dkimAlgorithms(host);
  const waiting = host.dkim.nextSelector === undefined ? [] : [host.dkim.nextSelector];
  const selectors = [{ selector: host.dkim.selector, active: true }, ...[...waiting, ...host.dkim.retiredSelectors].map((selector) => ({ selector, active: false }))];
  return selectors.flatMap(({ selector, active }) =>
    algorithms.map((algorithm) => {
      const published = selectorFor(algorithm, selector);
      const key = new tls.PrivateKey(`${name}-dkim-${algorithm}-${selector}`, KEY_ARGS[algorithm], { parent, additionalSecretOutputs: ["privateKeyPemPkcs8"] });
      return { algorithm, selector: published, active, privateKeyPem: pulumi.secret(key.privateKeyPemPkcs8), publicKeyPem: key.publicKeyPem };
    }),
  );
}
