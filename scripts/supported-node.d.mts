// Types for the plain-Node supported-Node launcher (decision 047).
export declare const MIN_MAJOR: number;
export declare const BROUGHT_MAJOR: number;
export declare function platformPackage(platform?: string, arch?: string): string;
export declare function isSupported(version?: string): boolean;
export declare function supportedNodeBinary(): string;
export declare function envWithNode(bin: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function ensureSupportedNode(): void;
