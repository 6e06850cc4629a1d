/** Where a command writes; tests pass their own to capture output without spawning a process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
};

/** Exit statuses shared by every command. */
export const EXIT = {
  OK: 0,
  /** The input was read but is invalid, or the operation failed. */
  FAILED: 1,
  /** The command line itself is wrong. */
  USAGE: 2,
} as const;
