// Placeholder until the dashboard work lands in this session; refuses clearly.
import { reportError, UsageError } from "../output.ts";
export const run = async () => process.exit(reportError(new UsageError("admin token is not available in this build yet."), false));
