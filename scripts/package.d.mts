export const OCI_DIR: string;
export const WASM_CONFIG_MEDIA_TYPE: string;
export const WASM_LAYER_MEDIA_TYPE: string;
export function packageFilter(name: string): string;
export function filterNames(): string[];
