// The admin query parameters shared by the /stats renderers.

export interface RenderOptions {
  /** ?usedonly: only stats written at least once. */
  usedOnly?: boolean;
  /** ?filter=: a regex searched in the full stat name (Envoy: std::regex_search). */
  filter?: RegExp;
}

export function shouldShow(stat: { name: string; used: boolean }, options: RenderOptions): boolean {
  if (options.usedOnly && !stat.used) return false;
  if (options.filter && !options.filter.test(stat.name)) return false;
  return true;
}
