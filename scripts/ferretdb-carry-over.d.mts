// Types for the plain-Node carry-over of the SQLite-backed FerretDB store (decision 045).
export declare const THROWAWAY_DATABASES: RegExp;
export declare class CarryOverUnavailable extends Error {}
export declare function sqliteDatabases(dir: string): string[];
export declare function carryOverSqliteStore(opts: {
  sqliteDir: string;
  migratedDir: string;
  targetUrl: string;
  ferretBin: string;
  skip?: RegExp;
}): Promise<{
  copied: { database: string; collections: number; documents: number }[];
  skipped: string[];
  movedTo: string | undefined;
}>;
