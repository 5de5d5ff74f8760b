/**
 * Writes every host program exactly as the steps assemble it (components/steps.ts, host/program.ts) into the
 * directory given, one file each, so that shellcheck lints what the hosts run: the contract's variables, lib.sh,
 * the concern's files and the call of `main`. nft-sync, which is installed on the host as a program of its own,
 * is written as the firewall step installs it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nftSyncScript } from "../components/firewall/step";
import { PROGRAMS, stepScript, type ProgramName } from "../components/steps";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: hostPrograms.ts DIR");
for (const program of PROGRAMS) {
  writeFileSync(join(dir, `${program.name}.sh`), `${stepScript(program.name as ProgramName)}\nmain "$@"\n`);
}
writeFileSync(join(dir, "nft-sync.sh"), nftSyncScript());
