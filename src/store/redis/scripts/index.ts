// Every script the Redis backend runs, one per operation (fragments.ts holds the shared pieces
// and the data model).
export * from "./tokens.js";
export * from "./revocations.js";
export * from "./feed.js";
export * from "./cleanup.js";
