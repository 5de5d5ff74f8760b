/**
 * The dkim step's data: for each algorithm that signs, its opendkim configuration, tables, key and the paths they
 * go to; the template unit. No algorithm at all means DKIM is off, and the step takes our signer away if it was
 * there. Secret: the keys travel in it, so the step's stdin is marked so.
 */
import type { HostConfig } from "../config/resolve";
import { renderBundle, type Bundle } from "../host/bundle";
import { dkimPaths } from "../host/contract";
import { dkimAlgorithms, renderKeyTable, renderOpendkimConf, renderOpendkimUnit, renderSigningTable, selectorFor } from "./render";

/** `privateKeys` holds the PKCS#8 PEM of the active key of each algorithm that signs. */
export function dkimBundle(host: HostConfig, privateKeys: Readonly<Partial<Record<string, string>>>): string {
  const bundle: Bundle = { host: host.name, unit: renderOpendkimUnit() };
  const layout: string[] = [];
  for (const alg of dkimAlgorithms(host)) {
    const key = privateKeys[alg];
    if (key === undefined) throw new Error(`internal error: no ${alg} DKIM key for ${host.name}`);
    const keyFile = dkimPaths.key(alg, selectorFor(alg, host.dkim.selector));
    // `ALG UNIT CONF KEYTABLE SIGNINGTABLE KEYFILE SOCKET`: where each file goes, so that no path is retyped in shell.
    layout.push([alg, dkimPaths.unit(alg), dkimPaths.conf(alg), dkimPaths.keyTable(alg), dkimPaths.signingTable(alg), keyFile, dkimPaths.socketAbsolute(alg)].join(" "));
    bundle[`conf.${alg}`] = renderOpendkimConf(alg);
    bundle[`keytable.${alg}`] = renderKeyTable(host, alg);
    bundle[`signingtable.${alg}`] = renderSigningTable(host, alg);
    bundle[`key.${alg}`] = key;
  }
  bundle.layout = layout;
  return renderBundle(bundle);
}
