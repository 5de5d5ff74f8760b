/**
 * The architecture checker: the import graph of our own TypeScript modules, its cycles, and the layer rules.
 *
 * Everything here is pure over a directory tree so that the rules can be proven on small synthetic trees
 * (graph.test.ts) before they are trusted on the real one (../architecture.test.ts). Every check returns
 * a sorted list of one-line messages; an empty list means the tree is clean.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import * as ts from "typescript";

/** A file pattern: a glob on the repo-relative path (`*` within a segment, `**` across them) or a regex. */
export type FilePattern = string | RegExp;

/** One row of the layer table. Rows are tried in order and the first with a matching pattern wins. */
export interface LayerRule {
  layer: string;
  rank: number;
  files: readonly FilePattern[];
}

/** A directed ban that holds whatever the ranks say: modules matching `from` never import modules matching `to`. */
export interface Boundary {
  from: FilePattern;
  to: readonly FilePattern[];
  why: string;
}

export interface ModuleGraph {
  /** Repo-relative paths with forward slashes, sorted. */
  modules: string[];
  /** Each module's imports of our own modules (deduplicated, sorted); type-only imports included. */
  imports: Map<string, string[]>;
  /** Relative imports that could not become an edge: no file, or a TS file outside the checked roots. */
  problems: string[];
}

/** Extensions of the files we treat as modules (.d.ts ends in .ts, so declaration files count too). */
const MODULE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];
/** TypeScript lets `./x.js` name x.ts (and .mjs → .mts, .cjs → .cts), as ESM-style sources must write it. */
const JS_TO_TS: Record<string, readonly string[]> = { ".js": [".ts", ".tsx", ".d.ts"], ".mjs": [".mts", ".d.mts"], ".cjs": [".cts", ".d.cts"] };
const EXTENSIONLESS_CANDIDATES = [".ts", ".tsx", ".mts", ".cts", ".d.ts", "/index.ts", "/index.tsx", "/index.mts", "/index.cts", "/index.d.ts"];

const isModuleFile = (name: string): boolean => MODULE_EXTENSIONS.some((ext) => name.endsWith(ext));
const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
const toRepoPath = (root: string, abs: string): string => relative(root, abs).split(sep).join("/");

/** Every module file under `dir`, skipping node_modules and dot-directories (build caches, not our code). */
function walk(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".")) found.push(...walk(path));
    } else if (entry.isFile() && isModuleFile(entry.name)) {
      found.push(path);
    }
  }
  return found;
}

/**
 * Every module specifier a file names: static imports and `import type`, `export … from`, side-effect
 * imports, `import("…")` in both expressions and type positions, `import x = require(…)` and
 * `/// <reference path>`. The compiler's pre-processor scans tokens, so specifiers inside strings and
 * comments do not count.
 */
export function specifiersOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return [...info.importedFiles, ...info.referencedFiles].map((ref) => ref.fileName);
}

const isRelative = (spec: string): boolean => spec === "." || spec === ".." || spec.startsWith("./") || spec.startsWith("../");

/** The TS file a relative specifier names, "asset" for a non-TS file (JSON, a .js script), or undefined. */
function resolveRelative(fromFile: string, spec: string): string | "asset" | undefined {
  const base = resolve(dirname(fromFile), spec);
  const ext = extname(base);
  const candidates = [
    ...(isModuleFile(base) ? [base] : []),
    ...(JS_TO_TS[ext] ?? []).map((tsExt) => base.slice(0, -ext.length) + tsExt),
    ...EXTENSIONLESS_CANDIDATES.map((suffix) => base + suffix),
  ];
  const hit = candidates.find(isFile);
  if (hit !== undefined) return hit;
  return isFile(base) ? "asset" : undefined;
}

/**
 * The import graph of every module under `roots` (directories, or single module files such as a package's entry,
 * relative to `root`; missing ones are skipped so that a table can name one before it exists). Package and
 * `node:` imports are not ours and are ignored, and so are relative imports of non-TS files.
 */
export function buildGraph(root: string, roots: readonly string[]): ModuleGraph {
  const files = roots.flatMap((entry) => {
    const path = join(root, entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) return walk(path);
    return stat?.isFile() && isModuleFile(path) ? [path] : [];
  });
  const modules = [...new Set(files.map((abs) => toRepoPath(root, abs)))].sort();
  const known = new Set(modules);
  const imports = new Map<string, string[]>();
  const problems: string[] = [];
  for (const module of modules) {
    const abs = join(root, module);
    const targets = new Set<string>();
    for (const spec of specifiersOf(readFileSync(abs, "utf8")).filter(isRelative)) {
      const resolved = resolveRelative(abs, spec);
      if (resolved === "asset") continue;
      if (resolved === undefined) {
        problems.push(`${module} imports "${spec}", which resolves to no file`);
        continue;
      }
      const target = toRepoPath(root, resolved);
      if (known.has(target)) targets.add(target);
      else problems.push(`${module} imports ${target}, which is outside the checked roots (${roots.join(", ")})`);
    }
    imports.set(module, [...targets].sort());
  }
  return { modules, imports, problems: [...new Set(problems)].sort() };
}

/** Strongly connected components (Tarjan), each sorted; only those that hold a cycle (size > 1 or a self-import). */
function cyclicComponents(graph: ModuleGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.imports.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.imports.get(node) ?? []).includes(node)) components.push(component.sort());
  };
  // Our tree is a few hundred modules at most, so the recursion stays far from the stack limit.
  for (const module of graph.modules) if (!index.has(module)) visit(module);
  return components;
}

/** The shortest cycle from `start` back to itself inside one component (breadth-first, so it is deterministic). */
function shortestCycle(graph: ModuleGraph, component: readonly string[], start: string): string[] {
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const next of graph.imports.get(node) ?? []) {
      if (next === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (inside.has(next) && !cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start]; // unreachable for a cyclic component; keeps the return type honest
}

/**
 * One message per cyclic component: a concrete cycle through its first module, and, when the component is
 * larger than that cycle, the rest of its members (every one of them has to lose an import to break it).
 */
export function findCycles(graph: ModuleGraph): string[] {
  return cyclicComponents(graph)
    .map((component) => {
      const cycle = shortestCycle(graph, component, component[0]);
      const rest = component.filter((member) => !cycle.includes(member));
      return `import cycle: ${cycle.join(" → ")}` + (rest.length > 0 ? ` (also in this knot: ${rest.join(", ")})` : "");
    })
    .sort();
}

/** A glob as an anchored regex: `**` spans directories (also none), `*` and `?` stay inside one segment. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (glob.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (glob.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export const matches = (pattern: FilePattern, path: string): boolean => (typeof pattern === "string" ? globToRegExp(pattern) : pattern).test(path);

/** The first rule with a pattern that matches `path`, as the table's order decides. */
export const classify = (rules: readonly LayerRule[], path: string): LayerRule | undefined =>
  rules.find((rule) => rule.files.some((pattern) => matches(pattern, path)));

/**
 * The layer rules: every module is classified; a module imports only its own rank or lower; and the
 * lowest-ranked layer (plain data) imports nothing of ours, not even its own layer, so that it can be
 * read, copied into a host bundle or tested without dragging anything else along.
 */
export function checkLayers(graph: ModuleGraph, rules: readonly LayerRule[]): string[] {
  const lowest = Math.min(...rules.map((rule) => rule.rank));
  const problems: string[] = [];
  for (const module of graph.modules) {
    const own = classify(rules, module);
    if (own === undefined) {
      problems.push(`classify ${module} in the layer table`);
      continue;
    }
    for (const target of graph.imports.get(module) ?? []) {
      const theirs = classify(rules, target);
      if (theirs === undefined) continue; // reported once, as its own module
      if (own.rank === lowest) {
        problems.push(`${module} is in the lowest layer (${own.layer}) and imports nothing of ours, but imports ${target}`);
      } else if (theirs.rank > own.rank) {
        problems.push(`${module} (${own.layer}, rank ${own.rank}) imports ${target} from a higher layer (${theirs.layer}, rank ${theirs.rank})`);
      }
    }
  }
  return problems.sort();
}

/** The boundaries: bans that do not depend on how the ranks are later reshuffled. */
export function checkBoundaries(graph: ModuleGraph, boundaries: readonly Boundary[]): string[] {
  const problems: string[] = [];
  for (const boundary of boundaries) {
    for (const module of graph.modules.filter((path) => matches(boundary.from, path))) {
      for (const target of graph.imports.get(module) ?? []) {
        if (boundary.to.some((pattern) => matches(pattern, target))) problems.push(`${module} imports ${target}: ${boundary.why}`);
      }
    }
  }
  return problems.sort();
}

/** Patterns of the table that match no module: a typo there silently hands its files to a later rule. */
export function unusedPatterns(graph: ModuleGraph, rules: readonly LayerRule[]): string[] {
  return rules.flatMap((rule) =>
    rule.files.filter((pattern) => !graph.modules.some((path) => classify(rules, path) === rule && matches(pattern, path))).map((pattern) => `${rule.layer}: ${String(pattern)}`),
  );
}
