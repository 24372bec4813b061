// Kubernetes models (@kubernetes-models/*) by "apiVersion/kind": each validates a manifest with
// the OpenAPI schema of its CRD.
export interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** Every model class a @kubernetes-models package exports (its groups and versions nest them). */
export function modelsOf(pkg: object): Map<string, ModelClass> {
  const out = new Map<string, ModelClass>();
  const walk = (o: Record<string, unknown>, depth: number): void => {
    for (const v of Object.values(o)) {
      if (typeof v === "function" && "apiVersion" in v && "kind" in v) out.set(`${(v as ModelClass).apiVersion}/${(v as ModelClass).kind}`, v as ModelClass);
      else if (v && typeof v === "object" && depth < 3) walk(v as Record<string, unknown>, depth + 1);
    }
  };
  walk(pkg as Record<string, unknown>, 0);
  return out;
}
