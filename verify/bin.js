#!/usr/bin/env node
// The `mail-submission-verify` command (npx, npm run verify): the verify CLI as compiled to dist/ by `npm run build`,
// which the npm package ships and `npm run verify` runs first, so nothing is compiled at run time and no TypeScript
// tooling is needed to run it.
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const cli = join(__dirname, "..", "dist", "verify", "cli.js");
if (!existsSync(cli)) {
  // A checkout that was never built; exit 2 like any other reason the tool could not start.
  process.stderr.write(`mail-submission-verify: ${cli} is missing: run npm run build\n`);
  process.exit(2);
}
require(cli).run();
