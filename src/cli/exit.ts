// Exit statuses of the command line, the same for every command: 0 done, 1 failed while
// running (data, files, the runtime), 2 bad invocation or invalid configuration (options,
// recipe, experiment), 130 interrupted by Ctrl-C (128 + SIGINT, what shells report).
// No imports: the dispatcher loads this before any command, and `setup` must not load TensorFlow.

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A wrong command line or configuration: the command exits with EXIT_USAGE. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit status for an error that ended a command: parseArgs' own errors are usage errors too. */
export function exitStatusOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT_USAGE;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_') ? EXIT_USAGE : EXIT_FAILED;
}
