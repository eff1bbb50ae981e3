// The fix for a broker refusal whose remedy is known whatever asked: the CLI's error line, doctor's
// failed check and the MCP server's tool answer all take it from here, so they cannot disagree.
import { MeshError, type ErrorCode } from "../protocol/errors.ts";

/** What follows the fix: the CLI says "run the command again"; a client that reconnects by
 *  itself (the MCP server) says so instead. */
const RUN_AGAIN = "run the command again";

/** What to do about a `timestamp_skew` refusal, with which clock is ahead when the broker's words
 *  say (`… timestamp is -95 s from the broker clock …`, src/broker/auth.ts). `then`: what happens
 *  once the clock is right. */
export function clockFix(message: string, then = RUN_AGAIN): string {
  const s = Number(/timestamp is (-?\d+) s from the broker clock/.exec(message)?.[1] ?? NaN);
  const which = Number.isFinite(s) && s !== 0 ? `this machine's clock is ${Math.abs(s)} s ${s > 0 ? "ahead of" : "behind"} the broker's: ` : "";
  return `${which}set this machine's clock right (NTP: \`timedatectl set-ntp true\` on Linux, automatic time in macOS settings) and ${then}; if it is right, the broker's clock is wrong: tell its operator`;
}

const FIXES: Partial<Record<ErrorCode, (message: string, then: string) => string>> = {
  timestamp_skew: clockFix,
  // The CLI checks names before sending them; a broker refuses one it passed only when the broker
  // is newer and its rules stricter.
  invalid_name: (_, then) => `choose another name (--display-name for new and join, the name argument of new) and ${then}`,
};

/** The known fix for `err` (null when its code has none here, or it is no broker refusal). */
export function refusalFix(err: unknown, then = RUN_AGAIN): string | null {
  return err instanceof MeshError ? (FIXES[err.code]?.(err.message, then) ?? null) : null;
}
