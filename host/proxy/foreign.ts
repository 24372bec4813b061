// Envoy's foreign functions that filters here may call. Unknown names answer NOT_FOUND.
import { WasmResult } from "../abi/enums.ts";
import type { ContextBase } from "./context.ts";

export function callForeignFunction(ctx: ContextBase, name: string, _args: Uint8Array): Uint8Array | WasmResult {
  switch (name) {
    case "clear_route_cache":
      // Opt-in route-cache clearing (envoy PR #36671); a root context has no route to clear.
      return ctx.clearRouteCache() ? new Uint8Array(0) : WasmResult.NotFound;
    default:
      return WasmResult.NotFound;
  }
}
