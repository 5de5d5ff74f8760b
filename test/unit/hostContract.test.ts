import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { contractVariables, HOST_PATHS, ports } from "../../components/host/contract";

/**
 * The host scripts learn every path, port and service name from the contract (components/host/contract.ts); a
 * literal in a script would be a second copy of a fact that can drift from the TypeScript side. Comments may name
 * paths (they explain); code may not.
 */
const COMPONENTS = join(__dirname, "../../components");
/** An absolute path under a directory where hosts keep configuration, state or programs. */
const HOST_PATH = /(?<![\w$}.-])\/(?:etc|var|run|usr|srv|opt|home|lib|tmp|root|sys|proc|boot)(?:\/[^\s"'`):;|,]*)?/g;
const PORT = new RegExp(`\\b(?:${Object.values(ports).join("|")})\\b`, "g");

function scripts(dir = COMPONENTS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? scripts(join(dir, e.name)) : e.name.endsWith(".sh") ? [join(dir, e.name)] : [],
  );
}

/** `file:line: what` for every host path or port of ours written out in the code of a script. */
export function literalsIn(file: string, text: string): string[] {
  return text.split("\n").flatMap((line, i) => {
    if (/^\s*#/.test(line)) return [];
    const found = [...(line.match(HOST_PATH) ?? []).map((p) => `host path ${p}`), ...(line.match(PORT) ?? []).map((p) => `port ${p}`)];
    return found.map((f) => `${file}:${i + 1}: ${f} (take it from the contract's variables)`);
  });
}

describe("the contract with the host", () => {
  it("is the only place a script's host paths and ports come from", () => {
    const files = scripts();
    expect(files.length).toBeGreaterThan(10);
    const problems = files.flatMap((f) => literalsIn(relative(COMPONENTS, f), readFileSync(f, "utf8")));
    expect(problems).toEqual([]);
  });

  it("catches a path or a port typed into a script, but not one in a comment", () => {
    const text = ['# writes /etc/postfix/master.cf', 'MASTER=/etc/postfix/master.cf', 'cp -a "$r/etc/x" "$DIR"', 'case $p in 587) ;; esac', 'p465=1'].join("\n");
    expect(literalsIn("x.sh", text)).toEqual([
      "x.sh:2: host path /etc/postfix/master.cf (take it from the contract's variables)",
      "x.sh:4: port 587 (take it from the contract's variables)",
    ]);
  });

  it("names every path the TypeScript side uses for the host, as a shell variable", () => {
    const vars = contractVariables();
    for (const [name, value] of Object.entries(HOST_PATHS)) expect(vars[name]).toBe(value);
    expect(vars.PORT_SUBMISSIONS).toBe("465");
    expect(vars.PORT_SUBMISSION).toBe("587");
    expect(vars.PORT_IMAPS).toBe("993");
    // Every variable the contract defines is one the scripts use: a misspelt use would leave its entry unused.
    const used = new Set(scripts().flatMap((f) => [...readFileSync(f, "utf8").matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1])));
    for (const name of Object.keys(vars)) expect(used.has(name), `${name} is never used`).toBe(true);
  });
});
