#!/usr/bin/env node
// Entry point of `npx redkit`: runs the CLI on the process arguments and exits with its code.
// Everything else lives in program.ts and the command modules.

import { main } from './program.js'

void main(process.argv).then((code) => {
  process.exitCode = code
})
