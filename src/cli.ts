#!/usr/bin/env node
import { cli } from './cli/main.js';
import { routeProcessWarnings } from './log.js';

routeProcessWarnings((line) => process.stderr.write(`${line}\n`));
process.exitCode = await cli(process.argv.slice(2));
