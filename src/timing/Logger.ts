/** Leveled logging to stderr. Debug lines are built only when debug is on: callers pass a function. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(level: string): level is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(level);
}

export class Logger {
  private readonly rank: number;

  constructor(
    readonly level: LogLevel = "info",
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.rank = LOG_LEVELS.indexOf(level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.rank;
  }

  log(level: LogLevel, message: string): void {
    if (this.enabled(level)) this.write(message);
  }

  /** `build` runs only at debug level: no string is made for a line that would be dropped. */
  debug(build: () => string): void {
    if (this.rank === 3) this.write(build());
  }
}
