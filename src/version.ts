/** The package's name and version, read once from its package.json (this file is dist/src/version.js). */
import { readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };

export const PACKAGE_NAME: string = manifest.name;
export const VERSION: string = manifest.version;
