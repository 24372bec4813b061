// Programs from Debian that some tests run (prometheus, skopeo, ...). `npm test` installs the
// missing ones first where it can (test/support/global-setup.ts); elsewhere each such test is
// skipped, and its name says the one command that installs what it needs.
import { existsSync } from "node:fs";

export const INSTALL_COMMAND = "scripts/install-test-servers.sh";

/** A describe() title: `title` when the program is there, else the title with the reason it is skipped. */
export function needing(program: string, title: string): { missing: boolean; title: string } {
  const missing = !existsSync(program);
  return { missing, title: missing ? `${title} (skipped: ${program} is missing; install it with ${INSTALL_COMMAND})` : title };
}
