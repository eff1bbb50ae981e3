// Whether the reader of the pipe on stdout has gone (`inbox --follow | head -1` once head quit),
// asked without writing. A follower with nothing to show learnt it only from its next write's
// EPIPE, which may be hours away, and the shell waited for it meanwhile: `msg=$(claudemesh inbox
// --follow | head -1)` did not return until a second message came. poll(2) on a pipe's write end
// says so as soon as no reader is left (POLLERR on Linux, POLLHUP on macOS), as GNU `tail -f`
// asks; Bun has no call for it, so it is made through bun:ffi. Where that cannot be done (another
// C library, no FFI), nothing is watched and the next write finds out, as before.
import { fstatSync } from "node:fs";

const POLLERR = 0x8;
const POLLHUP = 0x10;

/** How often the pipe is looked at: a poll(2) that does not wait, well under a microsecond. */
const EVERY_MS = 1000;

type Poll = (fd: number) => number;

/** poll(2) through the C library, once; null where it cannot be loaded. */
let loaded: Poll | null | undefined;
async function loadPoll(): Promise<Poll | null> {
  if (loaded !== undefined) return loaded;
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", { poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });
    // struct pollfd { int fd; short events; short revents; }: events 0 asks only for what is
    // always reported, the errors and hang-ups.
    const pollfd = new Int32Array(2);
    loaded = (fd) => {
      pollfd[0] = fd;
      pollfd[1] = 0;
      return libc.symbols.poll(ptr(pollfd), 1, 0) > 0 ? pollfd[1]! >>> 16 : 0;
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Calls `gone` once when stdout is a pipe whose reader has gone; never when stdout is anything
 *  else (a terminal, a file). `stop()` ends the watch. The timer does not keep the process alive. */
export function onStdoutReaderGone(gone: () => void): { stop(): void } {
  let timer: ReturnType<typeof setInterval> | null = null;
  let stopped = false;
  let isPipe = false;
  try {
    isPipe = fstatSync(1).isFIFO();
  } catch {} // no stdout at all: nothing to watch
  if (isPipe)
    void loadPoll().then((poll) => {
      if (!poll || stopped) return;
      timer = setInterval(() => {
        if (!(poll(1) & (POLLERR | POLLHUP))) return;
        clearInterval(timer!);
        gone();
      }, EVERY_MS);
      timer.unref();
    });
  return {
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
