// Placeholder until the distribution work lands in this session; refuses clearly.
import { reportError, UsageError } from "../output.ts";
const notYet = async () => process.exit(reportError(new UsageError("admin backup/restore is not available in this build yet."), false));
export const backup = notYet;
export const restore = notYet;
