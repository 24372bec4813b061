// The one error the config loader throws: it names the YAML field path so a user can find the line.

export class EnvoyConfigError extends Error {
  constructor(
    /** Field path in the bootstrap, e.g. `static_resources.clusters[2].lb_policy`. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = "EnvoyConfigError";
  }
}

/** Appends a field (or a bracketed key when it is not a plain identifier) to a path. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (part.startsWith("[")) return `${path}${part}`;
  return path ? `${path}.${part}` : part;
}
