/**
 * The architecture, enforced: our modules import each other without cycles and only downwards through the
 * layers below. The checker itself lives in ./architecture/graph.ts and is proven on synthetic trees in
 * ./architecture/graph.test.ts; this file only states the rules for this repository.
 *
 * HOW TO EDIT THE TABLE
 * - Every .ts/.mts under ROOTS must match a pattern, or the test says "classify <file> in the layer table".
 * - Rows are tried top to bottom and the FIRST matching pattern wins, so a narrow pattern (a single file)
 *   must come before a broad one that would also catch it (components/config/schema.ts before
 *   components/config/*.ts). Keeping the rows in rank order does that for the layout below.
 * - Patterns are globs on the repo-relative path (`*` stays inside one directory, `**` spans any number)
 *   or regexes (tested against the same path; anchor them yourself).
 * - A module may import modules of its own rank or lower. The lowest rank (data) may import nothing of ours
 *   at all, not even other data. To move a file, move its pattern; to add a layer, add a row with a rank
 *   between its neighbours' (ranks need not be consecutive).
 * - A pattern that matches nothing is printed as a warning (a typo there would hand its files to a later,
 *   broader row without failing).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph, checkBoundaries, checkLayers, findCycles, unusedPatterns, type Boundary, type LayerRule } from "./architecture/graph";

/** The directories whose .ts/.mts files are ours to check, and the package's entry (a missing one is skipped until it exists). */
const ROOTS = ["index.ts", "components", "verify", "scripts", "test/harness", "test/bench"];

const LAYERS: LayerRule[] = [
  // Plain data that anything may read and that reads nothing: guard lists, paths, ports, algorithm and TLS
  // policy constants, the outputs' shape, and the step data format's reserved lines (the host side parses them in
  // bash too).
  {
    layer: "data",
    rank: 0,
    files: [
      "components/host/contract.ts",
      "components/host/bundleFormat.ts",
      "components/*/guards.ts",
      "components/certificate/algorithms.ts",
      "components/tls/policy.ts",
      "components/outputs.ts",
      // The args interfaces, generated from the schema (scripts/argsInterface.ts): types only.
      "components/args.ts",
    ],
  },
  // One-value grammars: what a single host-file value may look like. Dovecot's extra config is a grammar too.
  { layer: "grammar", rank: 1, files: ["components/config/grammar.ts", "components/dovecot/extraConfig.ts"] },
  // The input schema, built from the grammars.
  { layer: "schema", rank: 2, files: ["components/config/schema.ts", "components/config/certificateSchema.ts"] },
  // Parsing and resolving a host's configuration against the schema (everything else in components/config/).
  { layer: "config", rank: 3, files: ["components/config/*.ts"] },
  // Pure renderers: resolved config in, file contents and facts out; no Pulumi resources, no I/O.
  // components/dns/*.ts and components/autoconfig/*.ts catch every file of theirs, so a future dns/step.ts would land
  // here: list it above first.
  {
    layer: "render",
    rank: 4,
    files: [
      "components/host/bundle.ts",
      "components/*/render.ts",
      "components/*/guarantees.ts",
      "components/dovecot/passwordHash.ts",
      "components/certificate/facts.ts",
      "components/certificate/acme.ts",
      "components/dns/*.ts",
      "components/autoconfig/*.ts",
      "components/dkim/records.ts",
    ],
  },
  // Steps: a rendered bundle plus the host program that applies it, and the certificate resource.
  { layer: "step", rank: 5, files: ["components/*/step.ts", "components/host/program.ts", "components/certificate/resource.ts", "components/dkim/keys.ts"] },
  // The ordered list of steps.
  { layer: "registry", rank: 6, files: ["components/steps.ts"] },
  // Reading a host back and naming what drifted; it knows the steps but no step knows it.
  { layer: "drift", rank: 7, files: ["components/drift/*.ts"] },
  // The Pulumi component resource that ties the steps together.
  { layer: "component", rank: 8, files: ["components/mailSubmission.ts"] },
  // What Pulumi loads: the project's stack program, and the compile cache its nodeargs preload.
  { layer: "entry", rank: 9, files: ["components/program.ts", "components/compileCache.ts"] },
  // The verify CLI: may use any of components/ (its config and data, in practice), never the other way round.
  { layer: "verify", rank: 10, files: ["verify/**"] },
  // The npm package's entry: the component and verify's checks, re-exported for library users.
  { layer: "package", rank: 11, files: ["index.ts"] },
  // Scripts, the test harness and the bench: free to use everything above, used by nothing of ours.
  { layer: "tools", rank: 12, files: ["scripts/**/*.ts", "test/harness/**", "test/bench/**"] },
];

/**
 * Bans that hold however the ranks are reshuffled: the deployed component must never load code that exists
 * only to verify, script or test it (it would ship with the program and could pull test dependencies in).
 */
const BOUNDARIES: Boundary[] = [
  { from: "components/**", to: ["verify/**", "scripts/**", "test/**"], why: "components/ never imports from verify/, scripts/ or test/" },
];

const graph = buildGraph(join(__dirname, "../.."), ROOTS);

/** One failing expectation whose message is the whole list, one line per problem, instead of a truncated diff. */
function expectNone(problems: string[]): void {
  expect(problems, `\n${problems.join("\n")}\n`).toEqual([]);
}

describe("architecture", () => {
  it("finds our modules and their imports (a checker that sees nothing passes vacuously)", () => {
    expect(graph.modules).toContain("components/mailSubmission.ts");
    expect([...graph.imports.values()].some((targets) => targets.length > 0)).toBe(true);
    const unused = unusedPatterns(graph, LAYERS);
    if (unused.length > 0) console.warn(`layer table patterns that match no module:\n${unused.join("\n")}`);
  });

  it("resolves every relative import to one of our modules", () => expectNone(graph.problems));

  it("has no import cycles, type-only imports included", () => expectNone(findCycles(graph)));

  it("classifies every module and imports only from its own layer or lower ones", () => expectNone(checkLayers(graph, LAYERS)));

  it("keeps components/ free of verify/, scripts/ and test/", () => expectNone(checkBoundaries(graph, BOUNDARIES)));
});
