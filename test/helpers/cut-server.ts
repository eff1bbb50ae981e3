// A release server whose downloads break off: Bun.serve always frames a body it sends, so this
// speaks HTTP/1.1 over a raw socket, announces a file's whole Content-Length and closes after
// `sendBytes` of it, as a dropped connection or a proxy's timeout does. Paths it has no file for
// are answered 404. Stop it with stop(true).
import { readFileSync } from "node:fs";

export function cutServer(fileFor: (path: string) => string | undefined, sendBytes: number) {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, chunk) {
        const path = /^GET (\S+) HTTP/.exec(chunk.toString())?.[1] ?? "/";
        const file = fileFor(path);
        if (!file) {
          sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          return;
        }
        const body = readFileSync(file);
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        // A small first part fits the socket's buffer: what a partial write leaves unsent is
        // only more of the cut.
        sock.end(body.subarray(0, Math.min(sendBytes, body.length)));
      },
    },
  });
}
