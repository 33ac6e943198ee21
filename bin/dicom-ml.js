#!/usr/bin/env node
// Entry point of the `dicom-ml` CLI: the bundled build in dist/cli.js (`npm run build` makes it).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`dicom-ml: ${cli} is missing; run "npm run build" in ${path.dirname(__dirname)} first\n`);
  process.exit(1);
}
require(cli).runCli();
