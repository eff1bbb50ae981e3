// A download server for install.sh tests: serves files the way GitHub serves release assets.

/** An HTTP server on 127.0.0.1, port 0, that answers each path with the file `fileFor` names, or
 * 404 when it names none, and appends every path asked for to `requests`. Stop it with stop(true). */
export function fileServer(requests: string[], fileFor: (path: string) => string | undefined) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const file = fileFor(path);
      return file ? new Response(Bun.file(file)) : new Response("not found", { status: 404 });
    },
  });
}
