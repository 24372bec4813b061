// lib/runtime: the filter model on top of lib/abi. See lib/README.md.
export { Context, RootContext, HttpContext } from "./context";
export { registerRootContext, RootFactory, currentContext } from "./state";
export { HttpCallResponse, HttpCallCallback, deliverToOrigin } from "./http-call";
export * from "../abi/enums";
export { HeaderPair, findPair } from "../abi/pairs";
export { lastStatus } from "../abi/status";
export { log, logTrace, logDebug, logInfo, logWarn, logError, logCritical, getLogLevel } from "../abi/log";
