/**
 * What the dashboard's engines table says went wrong (src/dashboard/engineFailure.ts,
 * DOM-free). A new user found an engine shown "up" beside "the backend could
 * not be reached", its last failure, as if it were still failing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { failureOf } from "../src/dashboard/engineFailure.js";

test("an engine that is out says why, whatever failed before", () => {
  assert.equal(failureOf({ healthy: false, lastError: "health check failed: ECONNREFUSED", lastFailure: "the backend answered 500" }), "out: health check failed: ECONNREFUSED");
  assert.equal(failureOf({ healthy: false, lastError: null }), "out");
});

test("an engine that is back shows its last failure as past, and nothing when none failed", () => {
  assert.equal(failureOf({ healthy: true, lastError: null, lastFailure: "the backend could not be reached: ECONNREFUSED" }), "earlier: the backend could not be reached: ECONNREFUSED");
  assert.equal(failureOf({ healthy: true, lastError: null, lastFailure: null }), "");
  assert.equal(failureOf({ healthy: true, lastError: null }), "");
  // Not what RemoteBackend reports today (a passing check clears it), but not to be dropped if it ever is.
  assert.equal(failureOf({ healthy: true, lastError: "slow to answer" }), "earlier: slow to answer");
});
