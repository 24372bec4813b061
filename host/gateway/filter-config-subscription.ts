// Extension config discovery updates from a file: Envoy's FilterConfigSubscription
// (source/common/filter/config_discovery_impl.cc) over a filesystem subscription
// (source/extensions/config_subscription/filesystem/filesystem_subscription_impl.cc), which
// re-reads the file when it is moved into place (an atomic rename), not on in-place writes. An
// update Envoy would reject (bad response, bad config, a plugin that refuses its
// configuration) is logged and the filter keeps its config; an accepted one serves new streams.

import { existsSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { WasmFilterConfig, WasmPluginConfig } from "../envoy/bootstrap-types.ts";
import { reloadDiscoveredPlugin } from "../envoy/bootstrap.ts";

export class FilterConfigSubscriptions {
  private readonly watchers: FSWatcher[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    filters: WasmFilterConfig[],
    private readonly apply: (filter: WasmFilterConfig, config: WasmPluginConfig) => Promise<void>,
    private readonly warn: (message: string) => void,
  ) {
    const byDir = new Map<string, WasmFilterConfig[]>();
    for (const f of filters) {
      if (!f.discovery) continue;
      const dir = dirname(f.discovery.file);
      byDir.set(dir, [...(byDir.get(dir) ?? []), f]);
    }
    for (const [dir, list] of byDir) {
      try {
        this.watchers.push(
          watch(dir, (event, name) => {
            if (event !== "rename" || name === null) return;
            for (const f of list) if (basename(f.discovery!.file) === name && existsSync(f.discovery!.file)) this.refresh(f);
          }),
        );
      } catch (e) {
        this.warn(`cannot watch ${dir} for extension config updates: ${(e as Error).message}`);
      }
    }
  }

  /** Updates apply one at a time, in the order the file changed. */
  private refresh(f: WasmFilterConfig): void {
    this.queue = this.queue.then(async () => {
      try {
        await this.apply(f, reloadDiscoveredPlugin(f.discovery!, f.name));
      } catch (e) {
        this.warn(`Filesystem config update rejected for filter ${f.name}: ${(e as Error).message}`);
      }
    });
  }

  /** Resolves once the updates seen so far are applied or rejected. */
  settled(): Promise<void> {
    return this.queue;
  }

  close(): void {
    for (const w of this.watchers) w.close();
  }
}
