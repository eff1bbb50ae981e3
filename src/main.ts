#!/usr/bin/env bun
// Entry point of the one executable: hands argv to the CLI.
import { runCli } from "./cli/root.ts";

await runCli(process.argv.slice(2));
