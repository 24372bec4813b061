// The root context both transformers share: parse the configuration (refusing it with one
// ERROR line naming the field), log the settings that are accepted but work differently here,
// and hand the configuration to each stream the filter creates.

import { RootContext } from "../runtime/context";
import { logError, logWarn } from "../abi/log";
import { readEnvironment } from "../runtime/env";
import { TransformerConfig, TransformerConfigResult } from "./config";

/** A filter's config.ts parseConfig. */
export type ParseConfig = (bytes: Uint8Array, env: Map<string, string>) => TransformerConfigResult;

export abstract class TransformerRoot extends RootContext {
  config: TransformerConfig = new TransformerConfig();

  constructor(
    id: u32,
    /** "ai-request-transformer": log lines. */
    public readonly filterName: string,
    private readonly parse: ParseConfig,
  ) {
    super(id);
  }

  onConfigure(bytes: Uint8Array): bool {
    const r = this.parse(bytes, readEnvironment());
    if (r.error != null) {
      logError(this.filterName + ": configuration refused: " + r.error!);
      return false;
    }
    const c = r.config!;
    for (let i = 0; i < c.warnings.length; i++) logWarn(this.filterName + ": " + unchecked(c.warnings[i]));
    if (c.llm.auth.missingEnv.length > 0) logWarn(this.filterName + ": environment variable " + c.llm.auth.missingEnv + " is not set; requests will be refused until it is");
    this.config = c;
    return true;
  }
}
