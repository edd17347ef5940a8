#!/usr/bin/env node
// The one command-line entry (DESIGN.md): `fleetscope <command>`.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
