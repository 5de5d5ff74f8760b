/**
 * The server certificate in the modes where the stack holds it: made with the tls provider (selfSigned, ca) or
 * given (provided). The private key is always a Pulumi secret; the public parts (chain, CA certificate) are not.
 * In acme and host modes the host holds it, and there is nothing to make here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { HostConfig } from "../config/resolve";
import type { KeyAlgorithm } from "./algorithms";

export interface CertificateMaterials {
  /** Leaf first, then intermediates. */
  readonly chainPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
  readonly caCertPem?: pulumi.Output<string>;
}

/** Explicit curve or size: the provider's ECDSA default is P-224, which modern clients refuse. */
function keyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
  switch (algorithm) {
    case "ECDSA-P256":
      return { algorithm: "ECDSA", ecdsaCurve: "P256" };
    case "ECDSA-P384":
      return { algorithm: "ECDSA", ecdsaCurve: "P384" };
    case "RSA-3072":
      return { algorithm: "RSA", rsaBits: 3072 };
    case "RSA-4096":
      return { algorithm: "RSA", rsaBits: 4096 };
  }
}

const SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"];

export function createCertificate(name: string, host: HostConfig, parent: pulumi.Resource): CertificateMaterials | undefined {
  const opts = { parent };
  const dnsNames = [host.hostname, ...host.extraSans];
  const subject = { commonName: host.hostname };
  const cert = host.certificate;
  switch (cert.mode) {
    case "acme":
    case "host":
      return undefined;
    case "provided":
      return { chainPem: pulumi.secret(cert.chainPem), keyPem: pulumi.secret(cert.keyPem) };
    case "selfSigned": {
      const key = new tls.PrivateKey(`${name}-tls-key`, keyArgs(cert.algorithm), opts);
      const leaf = new tls.SelfSignedCert(
        `${name}-tls-cert`,
        {
          privateKeyPem: key.privateKeyPem,
          subject,
          dnsNames,
          validityPeriodHours: cert.validityHours,
          earlyRenewalHours: cert.earlyRenewalHours,
          allowedUses: SERVER_USES,
        },
        opts,
      );
      return { chainPem: leaf.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    }
    case "ca": {
      const caKey = new tls.PrivateKey(`${name}-ca-key`, keyArgs(cert.algorithm), opts);
      const ca = new tls.SelfSignedCert(
        `${name}-ca-cert`,
        {
          privateKeyPem: caKey.privateKeyPem,
          subject: { commonName: cert.commonName },
          isCaCertificate: true,
          validityPeriodHours: cert.caValidityHours,
          allowedUses: ["cert_signing", "crl_signing"],
        },
        opts,
      );
      const key = new tls.PrivateKey(`${name}-tls-key`, keyArgs(cert.algorithm), opts);
      const csr = new tls.CertRequest(`${name}-tls-csr`, { privateKeyPem: key.privateKeyPem, subject, dnsNames }, opts);
      const leaf = new tls.LocallySignedCert(
        `${name}-tls-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: ca.certPem,
          validityPeriodHours: cert.validityHours,
          earlyRenewalHours: cert.earlyRenewalHours,
          allowedUses: SERVER_USES,
        },
        opts,
      );
      return { chainPem: leaf.certPem, keyPem: pulumi.secret(key.privateKeyPem), caCertPem: ca.certPem };
    }
  }
}
