// Programs some tests run (Debian's prometheus, skopeo, redis-server; envoyproxy/ratelimit).
// `npm test` installs the missing ones first where it can (test/support/global-setup.ts);
// elsewhere each such test is skipped, and its name says the one command that installs them.
import { existsSync } from "node:fs";

export const INSTALL_COMMAND = "scripts/install-test-servers.sh";

/** A describe() title: `title` when every program is there, else the title with why it is skipped. */
export function needing(programs: string | string[], title: string): { missing: boolean; title: string } {
  const absent = (Array.isArray(programs) ? programs : [programs]).filter((p) => !existsSync(p));
  if (absent.length === 0) return { missing: false, title };
  return { missing: true, title: `${title} (skipped: ${absent.join(", ")} missing; install with ${INSTALL_COMMAND})` };
}
