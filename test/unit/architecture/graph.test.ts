/**
 * The checker proven on synthetic trees: each tree breaks exactly one rule and each test pins the exact
 * message, so a checker that passes the real tree vacuously (finds no files, resolves no imports) fails here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildGraph, checkBoundaries, checkLayers, classify, findCycles, globToRegExp, specifiersOf, unusedPatterns, type Boundary, type LayerRule } from "./graph";

const RULES: LayerRule[] = [
  { layer: "data", rank: 0, files: ["src/data/*.ts"] },
  { layer: "logic", rank: 1, files: ["src/logic/**"] },
  { layer: "app", rank: 2, files: [/^src\/app\.m?ts$/] },
  { layer: "tools", rank: 3, files: ["tools/**"] },
];
const BOUNDARIES: Boundary[] = [{ from: "src/**", to: ["tools/**"], why: "src never reaches into tools" }];
const ROOTS = ["src", "tools", "absent"];

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A throwaway repo with these files (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "architecture-"));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Every check the real-tree test runs, in one list. */
function check(root: string): string[] {
  const graph = buildGraph(root, ROOTS);
  return [...graph.problems, ...findCycles(graph), ...checkLayers(graph, RULES), ...checkBoundaries(graph, BOUNDARIES)];
}

describe("specifiersOf", () => {
  it("counts every kind of import, type-only ones included, and nothing in strings or comments", () => {
    const text = [
      `/// <reference path="./h.ts" />`, // first: TypeScript reads references only above any code
      `import type { A } from "./a";`,
      `export * from "./b";`,
      `export type { C } from "./c";`,
      `import "./d";`,
      `type E = import("./e").E;`,
      `const f = () => import("./f");`,
      `import g = require("./g");`,
      `const s = "import('./not-a')"; // import("./not-b")`,
      `import { readFileSync } from "node:fs";`,
    ].join("\n");
    expect(specifiersOf(text).sort()).toEqual(["./a", "./b", "./c", "./d", "./e", "./f", "./g", "./h.ts", "node:fs"]);
  });
});

describe("globToRegExp and classify", () => {
  it("keeps * inside one directory and lets ** span any number of them", () => {
    expect(globToRegExp("components/*/guards.ts").test("components/tls/guards.ts")).toBe(true);
    expect(globToRegExp("components/*/guards.ts").test("components/a/b/guards.ts")).toBe(false);
    expect(globToRegExp("verify/**").test("verify/checks/srv.ts")).toBe(true);
    expect(globToRegExp("test/**/x.ts").test("test/x.ts")).toBe(true);
    expect(globToRegExp("components/config/*.ts").test("components/config.ts")).toBe(false);
  });
  it("gives a file to the first rule that matches it", () => {
    const rules: LayerRule[] = [
      { layer: "narrow", rank: 0, files: ["a/special.ts"] },
      { layer: "broad", rank: 1, files: ["a/*.ts"] },
    ];
    expect(classify(rules, "a/special.ts")?.layer).toBe("narrow");
    expect(classify(rules, "a/other.ts")?.layer).toBe("broad");
    expect(classify(rules, "b/other.ts")).toBeUndefined();
  });
});

describe("the architecture checker", () => {
  it("passes a clean tree, resolving ./x.js, directories' index.ts and .mts files, and ignoring packages and JSON", () => {
    const root = tree({
      "src/data/ports.ts": `import { z } from "zod";\nexport const PORTS = [465, 587];`,
      "src/data/notes.json": `{}`,
      "src/logic/index.ts": `import { PORTS } from "../data/ports.js";\nimport notes from "../data/notes.json";\nexport * from "./more";`,
      "src/logic/more.ts": `import type { } from "node:fs";\nexport const more = 1;`,
      "src/app.mts": `import { more } from "./logic";\nimport "./logic/more";`,
      "tools/bench.ts": `import "../src/app.mjs";\nimport "../src/data/ports";`,
      "node_modules/x/index.ts": `import "../../nowhere";`,
    });
    expect(check(root)).toEqual([]);
    const graph = buildGraph(root, ROOTS);
    expect(graph.modules).toEqual(["src/app.mts", "src/data/ports.ts", "src/logic/index.ts", "src/logic/more.ts", "tools/bench.ts"]);
    expect(graph.imports.get("src/logic/index.ts")).toEqual(["src/data/ports.ts", "src/logic/more.ts"]);
    expect(graph.imports.get("src/app.mts")).toEqual(["src/logic/index.ts", "src/logic/more.ts"]);
    expect(graph.imports.get("tools/bench.ts")).toEqual(["src/app.mts", "src/data/ports.ts"]);
  });

  it("takes a module file as a root of its own, as a package's entry beside the directories it re-exports", () => {
    const root = tree({ "main.ts": `export * from "./src/app";`, "src/app.ts": `export {};`, "other.ts": `export {};` });
    const graph = buildGraph(root, ["main.ts", "src", "absent.ts"]);
    expect(graph.modules).toEqual(["main.ts", "src/app.ts"]);
    expect(graph.imports.get("main.ts")).toEqual(["src/app.ts"]);
  });

  it("names a cycle of three, one of whose edges is type-only, with the path that closes it", () => {
    const root = tree({
      "src/logic/a.ts": `import { b } from "./b";\nexport const a = b;`,
      "src/logic/b.ts": `import type { C } from "./c";\nexport const b: C = 1;`,
      "src/logic/c.ts": `export * from "./a";\nexport type C = number;`,
    });
    expect(check(root)).toEqual(["import cycle: src/logic/a.ts → src/logic/b.ts → src/logic/c.ts → src/logic/a.ts"]);
  });

  it("reports every cyclic component, self-imports and modules caught between two cycles too", () => {
    const root = tree({
      "src/logic/a.ts": `import "./b";`,
      "src/logic/b.ts": `import "./a";\nimport "./c";`,
      "src/logic/c.ts": `export type B = import("./b").B;`,
      "src/logic/d.ts": `import "./e";`,
      "src/logic/e.ts": `import "./d";`,
      "src/logic/self.ts": `export * from "./self";`,
      "src/logic/free.ts": `import "./a";`,
    });
    expect(check(root)).toEqual([
      "import cycle: src/logic/a.ts → src/logic/b.ts → src/logic/a.ts (also in this knot: src/logic/c.ts)",
      "import cycle: src/logic/d.ts → src/logic/e.ts → src/logic/d.ts",
      "import cycle: src/logic/self.ts → src/logic/self.ts",
    ]);
  });

  it("fails an import from a higher layer, and the boundary that no re-ranking may lift", () => {
    const root = tree({
      "src/logic/rules.ts": `import type { App } from "../app";`,
      "src/app.ts": `import { bench } from "../tools/bench";\nexport type App = typeof bench;`,
      "tools/bench.ts": `export const bench = 1;`,
    });
    expect(check(root)).toEqual([
      "src/app.ts (app, rank 2) imports tools/bench.ts from a higher layer (tools, rank 3)",
      "src/logic/rules.ts (logic, rank 1) imports src/app.ts from a higher layer (app, rank 2)",
      "src/app.ts imports tools/bench.ts: src never reaches into tools",
    ]);
  });

  it("fails a data module that imports anything of ours, even another data module", () => {
    const root = tree({
      "src/data/ports.ts": `import { ROOT } from "./paths";\nexport const PORTS = [ROOT.length];`,
      "src/data/paths.ts": `export const ROOT = "/etc";`,
    });
    expect(check(root)).toEqual(["src/data/ports.ts is in the lowest layer (data) and imports nothing of ours, but imports src/data/paths.ts"]);
  });

  it("fails a module that no rule classifies, so that new files are placed deliberately", () => {
    const root = tree({
      "src/misc.ts": `import "./data/ports";`,
      "src/data/ports.ts": `export const PORTS = [465];`,
    });
    expect(check(root)).toEqual(["classify src/misc.ts in the layer table"]);
  });

  it("fails a relative import that names no file or a module outside the checked roots", () => {
    const root = tree({
      "src/logic/x.ts": `import "./gone";\nimport "../../test/fixtures";`,
      "test/fixtures.ts": `export {};`,
    });
    expect(check(root)).toEqual([
      `src/logic/x.ts imports "./gone", which resolves to no file`,
      "src/logic/x.ts imports test/fixtures.ts, which is outside the checked roots (src, tools, absent)",
    ]);
  });

  it("lists the table's patterns that match no module", () => {
    const root = tree({ "src/data/ports.ts": `export {};`, "src/app.ts": `export {};` });
    expect(unusedPatterns(buildGraph(root, ROOTS), RULES)).toEqual(["logic: src/logic/**", "tools: tools/**"]);
  });
});
