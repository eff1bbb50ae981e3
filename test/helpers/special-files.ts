// Special files for tests of what stands where a database belongs. Made inside the test's own
// directory: a device is a private null-device node (mknod, as root), never a link to /dev/null,
// so code that wrongly opened it for writing or changed its mode would harm only the test's node.
// (A regression once left the machine's /dev/null at mode 0600, failing unrelated tests.)
import { expect } from "bun:test";
import { symlinkSync } from "node:fs";

export const mkfifo = (path: string) => expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);

/** A character device at `path`: a node of its own (major 1, minor 3) when this user may make one;
 *  otherwise a link to /dev/null, whose mode such a user cannot change anyway. */
export function mkdevice(path: string): void {
  if (Bun.spawnSync(["mknod", "-m", "666", path, "c", "1", "3"], { stderr: "ignore" }).exitCode !== 0) symlinkSync("/dev/null", path);
}
