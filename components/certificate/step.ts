/**
 * The certificate step's data. selfSigned, ca and provided: the chain (leaf first) and its key. acme: lego's
 * settings, the renewal program and its timer. host: the paths of the host's own files and the path unit that
 * follows them. Secret either way (a key, or a DNS provider's credentials): the step's stdin is marked so.
 */
import { posix } from "node:path";
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { ACME_CHALLENGE_COMMENT, HOST_PATHS, TLS_FILES } from "../host/contract";
import { contractPrelude, hostFile, programText } from "../host/program";
import { acmeUnits, challengePort, legoArgs, legoEnvironment, renewalDays } from "./acme";

export interface PemPair {
  readonly chainPem: string;
  readonly keyPem: string;
}

/**
 * certificate-install as installed on the host: the certificate step's own helpers and lib.sh, run as the
 * certificate step (STEP=certificate, under its lock). Its data, the pair's paths, is a bundle it prints itself: a
 * bundle cannot hold another one, so the lines are single-quoted words of one printf.
 */
export function installerScript(hostName: string, source: "acme" | "host", chainPath: string, keyPath: string): string {
  const program = { name: "certificate", files: ["host/probes.sh", "certificate/install.sh", "certificate/installed.sh"] };
  const lines = renderBundle({ host: hostName, source, "chain-path": chainPath, "key-path": keyPath }).trimEnd().split("\n");
  if (lines.some((l) => l.includes("'"))) throw new Error("internal error: certificate-install's data cannot be single-quoted");
  return `#!/bin/bash\n${programText(program)}\nmain apply < <(printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")})\n`;
}

/** acme-renew as installed on the host: a program of its own, so the contract's values it needs are written into it. */
export function acmeRenewScript(): string {
  const [shebang, ...rest] = hostFile("certificate/acme-renew.sh").split("\n");
  const { ACME_CONFIG_DIR, ACME_DIR, FIREWALL_BACKEND_FILE, NFT_SYNC, CERT_INSTALL, TLS_LINK } = HOST_PATHS;
  const values = { ACME_CONFIG_DIR, ACME_DIR, FIREWALL_BACKEND_FILE, NFT_SYNC, CERT_INSTALL, TLS_LINK, CERT_CHAIN_FILE: TLS_FILES.CERT_CHAIN_FILE, ACME_CHALLENGE_COMMENT };
  return [shebang, contractPrelude(values).trimEnd(), ...rest].join("\n");
}

/**
 * The path unit of host mode: every change of the chain or the key runs certificate-install. systemd follows a
 * watched symbolic link to its target, so a client that points the link at a new file (certbot's live/ links) is
 * seen only through the directories that hold the links, which are watched too.
 */
function watchUnits(chainPath: string, keyPath: string): { path: string; service: string } {
  const watched = [...new Set([chainPath, keyPath, posix.dirname(chainPath), posix.dirname(keyPath)])];
  return {
    path: [
      "# mail-submission: installs the host's certificate files again whenever they change (certificate step)",
      "[Unit]",
      `Description=mail-submission: follow ${chainPath}`,
      "",
      "[Path]",
      ...watched.map((p) => `PathChanged=${p}`),
      "",
      "[Install]",
      "WantedBy=multi-user.target",
      "",
    ].join("\n"),
    service: [
      "# mail-submission: run by its path unit (certificate step)",
      "[Unit]",
      `Description=mail-submission: install the changed certificate from ${chainPath}`,
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${HOST_PATHS.CERT_INSTALL}`,
      "",
    ].join("\n"),
  };
}

export function certificateBundle(host: HostConfig, pair?: PemPair): string {
  const cert = host.certificate;
  switch (cert.mode) {
    case "acme": {
      const names = [host.hostname, ...host.extraSans];
      const crt = `${HOST_PATHS.ACME_DIR}/certificates/${host.hostname}.crt`;
      const units = acmeUnits();
      return renderBundle({
        host: host.name,
        mode: "acme",
        "acme-args": legoArgs(cert, names),
        "acme-env": legoEnvironment(cert),
        "acme-ca": cert.caBundle ?? "",
        "acme-port": String(challengePort(cert) ?? ""),
        "acme-days": String(renewalDays(cert)),
        "acme-names": names,
        "acme-renew": acmeRenewScript(),
        "acme-service": units.service,
        "acme-timer": units.timer,
        install: installerScript(host.name, "acme", crt, crt.replace(/\.crt$/, ".key")),
      });
    }
    case "host": {
      const units = watchUnits(cert.chainPath, cert.keyPath);
      return renderBundle({
        host: host.name,
        mode: "host",
        "chain-path": cert.chainPath,
        "key-path": cert.keyPath,
        "watch-path": units.path,
        "watch-service": units.service,
        install: installerScript(host.name, "host", cert.chainPath, cert.keyPath),
      });
    }
    default:
      if (pair === undefined) throw new Error(`internal error: the ${cert.mode} certificate has no pair`);
      return renderBundle({ host: host.name, mode: "pulumi", chain: pair.chainPem, key: pair.keyPem });
  }
}
