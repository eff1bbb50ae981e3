// Text given on stdin instead of an argument: `claudemesh join -` (the invite link, kept out of
// `ps`) and `claudemesh send bob -` (a message from a pipe). Reads are bounded: stdin may be a
// file of any size, and a command needs only so many bytes of it.

/** Reads stdin up to end of file or, with `firstLine`, the first line break, never keeping more
 *  than `maxBytes`. `tooLong`: there was more than that (the text is then cut and should be
 *  refused). The text is decoded as UTF-8, without the line break. */
export async function readStdin(opts: { maxBytes: number; firstLine?: boolean }): Promise<{ text: string; tooLong: boolean }> {
  const reader = Bun.stdin.stream().getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
      if (bytes > opts.maxBytes || (opts.firstLine && (value.includes(10) || value.includes(13)))) break;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  const all = Buffer.concat(chunks);
  const head = all.subarray(0, opts.maxBytes);
  const lineEnd = opts.firstLine ? head.findIndex((b) => b === 10 || b === 13) : -1;
  if (lineEnd >= 0) return { text: head.subarray(0, lineEnd).toString("utf8"), tooLong: false };
  return { text: head.toString("utf8"), tooLong: all.byteLength > opts.maxBytes };
}
