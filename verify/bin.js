#!/usr/bin/env node
// The `mail-submission-verify` command (npx, npm run verify). The tool is TypeScript run through ts-node, like the
// Pulumi program; transpile-only because type errors are caught by `tsc --noEmit` in CI, and checking types on
// every run would cost seconds and need the @types packages at run time.
"use strict";
const path = require("node:path");

require("ts-node").register({
  project: path.join(__dirname, "..", "tsconfig.json"),
  transpileOnly: true,
});
require("./cli.ts").run();
