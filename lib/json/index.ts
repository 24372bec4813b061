// lib/json: strict validation of untrusted JSON and type-checked reads of json-as values.
export { validateJson, validateJsonAt } from "./validate";
export * from "./read";
export { JSON } from "json-as";
