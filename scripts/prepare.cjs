/**
 * npm's "prepare": after `npm ci` or `npm install` it builds the checkout.
 * npm also runs it when `npx llm-serving` installs this checkout into npx's
 * cache (npm_command "exec"): a checkout already built is then used as it is
 * (rebuilding it took 16 s with nothing said, and deleted dist/ under a
 * server running from it).
 */
const { existsSync } = require("node:fs");
const { spawnSync } = require("node:child_process");

if (process.env.npm_command === "exec" && existsSync("dist/src/cli/launch.cjs")) process.exit(0);
const npm = process.env.npm_execpath;
const build = npm ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" }) : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: true });
process.exit(build.status ?? 1);
