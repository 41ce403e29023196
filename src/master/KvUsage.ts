/**
 * KV cache use, counted in blocks of llm-serving's block_size so its metrics
 * read the same. llama.cpp does not page: each row owns a fixed region of
 * rowCapacity cells, so "reserved" blocks are what admission promised a
 * request (prompt + max_new_tokens) and "used" blocks are what it has filled.
 */
import type { Request } from "./Request.js";

export interface KvUsage {
  blockSize: number;
  /** Blocks in all rows' regions together. */
  totalBlocks: number;
  /** Blocks holding tokens of running requests. */
  usedBlocks: number;
  /** Blocks promised to running requests at admission. */
  reservedBlocks: number;
  /** Always false: the engine gives each row a fixed region, it does not page. */
  paged: false;
}

export function kvUsage(running: readonly Request[], rows: number, rowCapacity: number, blockSize: number): KvUsage {
  let used = 0;
  let reserved = 0;
  for (const r of running) {
    used += Math.ceil(r.cachedTokens / blockSize);
    reserved += Math.ceil(r.reservedTokens / blockSize);
  }
  return { blockSize, totalBlocks: rows * Math.floor(rowCapacity / blockSize), usedBlocks: used, reservedBlocks: reserved, paged: false };
}
