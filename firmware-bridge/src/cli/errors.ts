// CLI error type: a message for the user and an exit code, never a stack trace.
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
