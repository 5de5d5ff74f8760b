/**
 * Writes every host program exactly as the steps assemble it (components/steps.ts, host/program.ts) into the
 * directory given, one file each, so that shellcheck lints what the hosts run: the contract's variables, lib.sh,
 * the concern's files and the call of `main`. The programs installed on the host as programs of their own
 * (nft-sync, acme-renew, certificate-install) are written as their steps install them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { acmeRenewScript, installerScript } from "../components/certificate/step";
import { nftSyncScript } from "../components/firewall/step";
import { PROGRAMS, stepScript, type ProgramName } from "../components/steps";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: hostPrograms.ts DIR");
for (const program of PROGRAMS) {
  writeFileSync(join(dir, `${program.name}.sh`), `${stepScript(program.name as ProgramName)}\nmain "$@"\n`);
}
writeFileSync(join(dir, "nft-sync.sh"), nftSyncScript());
writeFileSync(join(dir, "acme-renew.sh"), acmeRenewScript());
writeFileSync(join(dir, "certificate-install.sh"), installerScript("lint", "acme", "/var/lib/lint/a.crt", "/var/lib/lint/a.key"));
