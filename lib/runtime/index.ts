// lib/runtime: the filter model on top of lib/abi. See lib/README.md.
export { Context, RootContext, HttpContext } from "./context";
export { registerRootContext, RootFactory, currentContext } from "./state";
export { HttpCallResponse, HttpCallCallback, deliverToOrigin } from "./http-call";
export { Counter, Gauge, Histogram, counter, gauge, histogram, taggedName } from "./metrics";
export * from "../abi/enums";
export { HeaderPair, findPair } from "../abi/pairs";
export { lastStatus } from "../abi/status";
export { log, logTrace, logDebug, logInfo, logWarn, logError, logCritical, getLogLevel } from "../abi/log";
export { getProperty, getPropertyString, getPropertyInt, setProperty, setPropertyString } from "../abi/properties";
export { getSharedData, setSharedData, SharedValue } from "../abi/shared-data";
export { registerQueue, resolveQueue, enqueue, dequeue } from "../abi/shared-queue";
export { currentTimeNanos, monotonicNanos } from "../abi/time";
export { callForeignFunction } from "../abi/foreign";
export { getHeader, addHeader, replaceHeader, removeHeader, getHeaderPairs, setHeaderPairs } from "../abi/headers";
export { getBufferBytes, getBufferSize, replaceBuffer, appendBuffer } from "../abi/buffers";
export { utf8, fromUtf8 } from "../abi/memory";
export { ServiceEndpoint, serviceEndpoint, callService } from "./service-call";
