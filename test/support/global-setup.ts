// vitest globalSetup: before any test file, installs the Debian programs the suite runs
// (scripts/install-test-servers.sh --if-missing) when this machine allows it: root and apt-get.
// `npm run bench` does the same with --bench (wrk).
// Anywhere else nothing is installed and the tests that need them are skipped with the command
// to run (test/support/test-programs.ts).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export default function setup(): void {
  installTestPrograms([]);
}

/**
 * scripts/install-test-servers.sh --if-missing with `args`, where this machine allows it (root,
 * apt-get, AIGW_NO_INSTALL unset); `npm run bench` calls it with --bench for wrk.
 */
export function installTestPrograms(args: string[]): void {
  const root = resolve(import.meta.dirname, "../..");
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get") || process.env.AIGW_NO_INSTALL) return;
  try {
    // Prints one line when it installs something, nothing when all is there.
    execFileSync(resolve(root, "scripts/install-test-servers.sh"), ["--if-missing", ...args], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  } catch {
    // A failed install (no network, a locked dpkg) leaves the tests to skip with the command.
  }
}
