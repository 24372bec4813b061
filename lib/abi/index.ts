// lib/abi: the proxy-wasm 0.2.1 ABI and typed wrappers that never trap.
export * from "./enums";
export * from "./status";
export * from "./pairs";
export { utf8, fromUtf8, bytesOf } from "./memory";
export * from "./log";
export * from "./headers";
export * from "./buffers";
export * from "./properties";
export * from "./http-call";
export * from "./shared-data";
export * from "./shared-queue";
export * from "./metrics";
export * from "./stream";
export * from "./time";
export * from "./foreign";
export * from "./context";
