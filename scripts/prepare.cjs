/**
 * npm's "prepare": after `npm ci` or `npm install` it builds the checkout.
 * npm also runs it when `npx llm-serving` installs this checkout into npx's
 * cache (npm_command "exec"): a build newer than every source is then used as
 * it is (rebuilding took 16 s with nothing said, and deleted dist/ under a
 * server running from it); one older than a source (after a git pull) is
 * rebuilt.
 */
const { existsSync, readdirSync, statSync } = require("node:fs");
const { basename, join } = require("node:path");
const { spawnSync } = require("node:child_process");

const BUILT = join("dist", "src", "cli", "launch.cjs");

/** The newest modification time among the files the build reads. */
function newestSource(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestSource(join(path, name))), stat.mtimeMs);
}

const upToDate = () => existsSync(BUILT) && statSync(BUILT).mtimeMs >= Math.max(...["src", "package.json", "tsconfig.json"].map(newestSource));
if (process.env.npm_command === "exec" && upToDate()) process.exit(0);

// npm_execpath is the script that started npm: under npx it is npx-cli.js, and `npx run build` would fetch a package named "run". Only npm's own is used.
const npmCli = process.env.npm_execpath;
const build =
  npmCli && basename(npmCli) === "npm-cli.js"
    ? spawnSync(process.execPath, [npmCli, "run", "build"], { stdio: "inherit" })
    : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: true });
if (build.error) process.stderr.write(`prepare: the build could not start: ${build.error.message}\n`);
process.exit(build.status ?? 1);
