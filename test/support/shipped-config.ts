// Pieces of the shipped envoy/envoy.yaml that tests reuse as written.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

const FILE = resolve(import.meta.dirname, "../../envoy/envoy.yaml");

export interface ShippedLogFormat {
  json_format: Record<string, string>;
  /** Command-operator extensions (envoy.formatter.req_without_query), as in the file. */
  formatters?: { name: string; typed_config: { "@type": string } }[];
}

interface Shipped {
  static_resources: { listeners: { filter_chains: { filters: { typed_config: { access_log: { typed_config: { log_format: ShippedLogFormat } }[] } }[] }[] }[] };
}

/** The first listener's access-log `log_format` (json_format and formatters). */
export function shippedLogFormat(): ShippedLogFormat {
  const y = parse(readFileSync(FILE, "utf8")) as Shipped;
  return y.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.access_log[0]!.typed_config.log_format;
}
