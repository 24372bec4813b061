export const HOST_BUNDLE: string;
export function hostBundle(): Promise<string>;
