#!/usr/bin/env node
// The aigw CLI: the TypeScript host runs through tsx's loader (no separate compile step).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../host/cli.ts");
process.exitCode = await main(process.argv.slice(2));
