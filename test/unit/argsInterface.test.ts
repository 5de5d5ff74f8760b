/**
 * The args interfaces (components/args.ts) are generated from the schema, and plugin/ describes the same package
 * as package.json: both are checked here so that neither drifts from its source.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { hostSchema } from "../../components/config/schema";
import { ARGS_FILE, argsSource } from "../../scripts/argsInterface";

const ROOT = join(__dirname, "../..");
const generated = readFileSync(join(ROOT, ARGS_FILE), "utf8");

describe("the args interfaces", () => {
  it("are the ones generated from the schema (run `npm run docs` after changing it)", () => {
    expect(generated).toBe(argsSource());
  });

  it("have a property, with its description, for every key of the schema", () => {
    const keys = Object.keys(z.toJSONSchema(hostSchema, { io: "input", unrepresentable: "any" }).properties ?? {});
    const main = /export interface MailSubmissionArgs \{([\s\S]*?)\n\}/.exec(generated)?.[1] ?? "";
    for (const key of keys) expect(main, key).toMatch(new RegExp(`/\\*\\* [^\\n]+ \\*/\\n  ${key}\\??: `));
    // Only the two keys without defaults are required, and only the resource name is plain.
    expect(main.match(/^ {2}\w+: /gm)?.map((l) => l.trim())).toEqual(["connection:", "hostname:"]);
    expect(main).toMatch(/name\?: string;/);
  });

  it("flatten the certificate's modes into one shape that names each key's modes", () => {
    const cert = /export interface Certificate \{([\s\S]*?)\n\}/.exec(generated)?.[1] ?? "";
    expect(cert).toMatch(/One of `selfSigned`, `ca`, `provided`, `acme`, `host`\. \*\/\n {2}mode: pulumi\.Input<string>;/);
    expect(cert).toMatch(/\(`provided`\) Server certificate followed by intermediates[^\n]*\n {2}chainPem\?: pulumi\.Input<string>;/);
    expect(cert).toMatch(/\(`ca`\) Subject CN of the internal CA/);
    // The ACME challenge is a union on `type`, flattened the same way.
    const challenge = /export interface Challenge \{([\s\S]*?)\n\}/.exec(generated)?.[1] ?? "";
    expect(challenge).toMatch(/One of `http-01`, `tls-alpn-01`, `dns-01`\. \*\/\n {2}type: pulumi\.Input<string>;/);
    expect(challenge).toMatch(/\(`dns-01`\) The provider's environment variables[^\n]*\n {2}credentials\?:/);
  });
});

describe("plugin/ (the package for other languages)", () => {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const plugin = JSON.parse(readFileSync(join(ROOT, "plugin/package.json"), "utf8")) as Record<string, unknown>;

  it("is the same package as package.json, and loads the compiled entry", () => {
    for (const key of ["name", "version", "description"]) expect(plugin[key], key).toBe(root[key]);
    expect(plugin.main).toBe(`../${String(root.main)}`);
  });
});
