// Temporary directories for tests. Made through test/preload.ts, so they are removed when the
// process's tests end even when the test that made one failed before its own cleanup.
import { scratchDir } from "../preload.ts";

/** A new directory under the system temp dir (mode 0700), removed when the process's tests end. */
export const tempDir = (prefix = "cm-test-") => scratchDir(prefix);
