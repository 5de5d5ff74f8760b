/**
 * How a host program is put together. A step reaches the host as one bash program on stdin: its name, the
 * contract's variables (host/contract.ts), the shared helpers (host/lib.sh), the files of its concern, then a call
 * of `main` fed by a quoted here-document holding the step's data. The command line is only `bash -s apply` (or
 * `remove`): @pulumi/command repeats the command line in every error message, and keeps the create-time stdin in
 * the state for the delete, so the same program, of the same version, also removes what it applied.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_DELIMITER } from "./bundleFormat";
import { contractVariables } from "./contract";

export interface HostProgram {
  readonly name: string;
  /** Its files after host/lib.sh, relative to components/, in order: helpers first, the step's own script last. */
  readonly files: readonly string[];
}

const COMPONENTS_DIR = join(__dirname, "..");

/** A file of ours that travels to the host, by its path relative to components/. */
export function hostFile(file: string): string {
  return readFileSync(join(COMPONENTS_DIR, file), "utf8");
}

/**
 * `readonly NAME='value'` for each contract variable (or the given ones): how the scripts learn the facts. Every
 * program gets the whole contract and uses what it needs, hence shellcheck's unused-variable check is off for it.
 */
export function contractPrelude(variables: Readonly<Record<string, string>> = contractVariables()): string {
  const lines = Object.entries(variables).map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || value.includes("'")) throw new Error(`contract variable ${name} cannot be written as a shell assignment`);
    return `  readonly ${name}='${value}'\n`;
  });
  return `# shellcheck disable=SC2034 # the contract with the host (components/host/contract.ts)\n{\n${lines.join("")}}\n`;
}

/** The program a step runs on the host, without its data. */
export function programText(program: HostProgram): string {
  return [`STEP=${program.name}`, contractPrelude().trimEnd(), ...["host/lib.sh", ...program.files].map(hostFile)].join("\n");
}

/** The whole stdin of a step: its program, then `main` reading the bundle from a quoted here-document. */
export function programStdin(program: HostProgram, bundle: string): string {
  return `${programText(program)}\nmain "$@" <<'${BUNDLE_DELIMITER}'\n${bundle}${BUNDLE_DELIMITER}\n`;
}

/**
 * The warnings in a step's notes (host/lib.sh `note "warning: …"`): what the component passes on as Pulumi warnings,
 * since a successful step's output is not shown (the steps do not stream).
 */
export function stepWarnings(stderr: string | undefined): string[] {
  // A step the engine has not run in this process (mocks, a preview of an unchanged step) may report no stderr.
  return (stderr ?? "").split("\n").flatMap((line) => {
    const m = /^[a-z]+: warning: (.+)$/.exec(line);
    return m?.[1] === undefined ? [] : [m[1]];
  });
}

/**
 * The command line: short, free of secrets; a non-root user runs it through `sudo -n`, which never waits for a
 * password. An apply carries the run token that drift repair counts up (drift/read.ts).
 */
export function stepCommand(action: "apply" | "remove", sudo: boolean, token?: number): string {
  return `${sudo ? "sudo -n " : ""}bash -s ${action}${token === undefined ? "" : ` ${token}`}`;
}
