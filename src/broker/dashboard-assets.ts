// The dashboard's files (web/), served by the broker itself, never from a CDN.
// `web/index.html` is an HTML import: `bun build --compile` bundles it (scripts, CSS, libsodium)
// into the executable and hands us the list of embedded files; run from source, the import names
// only the HTML file and we bundle it here with Bun.build, once per process, on first request.
// Either way the broker serves the files itself, so every response carries our headers (CSP).
import page from "../../web/index.html";
import { basename } from "node:path";

export type Asset = { body: Blob; contentType: string; immutable: boolean };

/** URL path → file. "/" is the page; chunks keep their content-hashed names. */
export type AssetTable = ReadonlyMap<string, Asset>;

/** The page's one inline script, first in web/index.html's <head>. Served at `/cm` by a proxy that
 *  strips its path without redirecting to `/cm/` (Caddy's handle_path; nginx redirects), the
 *  page's relative file names would resolve outside the path (`/chunk-….js`): it goes to `/cm/`
 *  before anything loads. `/join` (the invite page, one level down) resolves right as it is.
 *  The target is absolute, on this origin: a path as a proxy may serve the page at, such as
 *  `//evil.example/%2f%2e%2e%2fcm%2f` (nginx decodes and resolves it to /cm/, the browser keeps
 *  it), would otherwise be read as a scheme-relative URL and leave for evil.example. */
export const PAGE_SLASH_SCRIPT = `var p=location.pathname;if(!p.endsWith("/")&&!p.endsWith("/join"))location.replace(location.origin+p+"/"+location.search+location.hash)`;

/** The dashboard's Content-Security-Policy, directive by directive. 'wasm-unsafe-eval' lets
 *  libsodium compile its WebAssembly; no eval'd script runs, and no inline script but
 *  PAGE_SLASH_SCRIPT, allowed by its hash. */
const CSP: Readonly<Record<string, string>> = {
  "default-src": "'self'",
  "script-src": `'self' 'wasm-unsafe-eval' 'sha256-${new Bun.CryptoHasher("sha256").update(PAGE_SLASH_SCRIPT).digest("base64")}'`,
  "style-src": "'self'",
  "img-src": "'self'",
  "connect-src": "'self'",
  "object-src": "'none'",
  "base-uri": "'none'",
  "form-action": "'none'",
  "frame-ancestors": "'none'",
};

const policy = (directives: Readonly<Record<string, string>>) =>
  Object.entries(directives)
    .map(([k, v]) => `${k} ${v}`)
    .join("; ");

/** Headers on every response but the API reference page's (DOCS_HEADERS). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": policy(CSP),
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

/** The dashboard API's (/v1/dashboard/…): its answers belong to one signed-in member. */
export const DASHBOARD_API_HEADERS: Readonly<Record<string, string>> = { ...SECURITY_HEADERS, "cache-control": "no-store" };

/** The API reference page's (/docs): it runs an inline script and inline styles, so those are
 *  allowed; everything else is as strict (its own origin only, never framed). */
export const DOCS_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  "content-security-policy": policy({ ...CSP, "script-src": "'self' 'unsafe-inline'", "style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:", "font-src": "'self' data:" }),
};

/** Adds `headers` (SECURITY_HEADERS by default) to a response, copying it when its headers are
 *  immutable. */
export function secured(res: Response, headers: Readonly<Record<string, string>> = SECURITY_HEADERS): Response {
  let out = res;
  try {
    for (const [k, v] of Object.entries(headers)) out.headers.set(k, v);
  } catch {
    out = new Response(res.body, res);
    for (const [k, v] of Object.entries(headers)) out.headers.set(k, v);
  }
  return out;
}

const urlPathOf = (file: string) => (file.endsWith(".html") ? "/" : `/${basename(file)}`);

/** `table` as it is, once its page is known to carry PAGE_SLASH_SCRIPT word for word: the CSP
 *  allows that text by its hash, so an edited copy in web/index.html would silently not run. */
async function checked(table: AssetTable): Promise<AssetTable> {
  const html = await table.get("/")?.body.text();
  if (html !== undefined && !html.includes(`<script>${PAGE_SLASH_SCRIPT}</script>`)) {
    throw new Error("web/index.html's inline script is not PAGE_SLASH_SCRIPT (src/broker/dashboard-assets.ts): the page's CSP would block it");
  }
  return table;
}

async function fromSource(indexPath: string): Promise<AssetTable> {
  const built = await Bun.build({ entrypoints: [indexPath], target: "browser", minify: true });
  if (!built.success) throw new AggregateError(built.logs, "bundling web/ failed");
  return checked(new Map(built.outputs.map((o) => [urlPathOf(o.path), { body: o, contentType: o.type, immutable: !o.path.endsWith(".html") }])));
}

/** The page with its references to `assets` (URL paths, "/chunk-….js") made relative to it
 *  ("./chunk-….js"). `bun build --compile` writes them root-absolute, whatever --public-path says,
 *  and those miss behind a reverse proxy that serves the broker under a path (/cm/ loaded
 *  /chunk-….js, not /cm/chunk-….js); Bun.build already writes them relative. The names carry a
 *  content hash, so a quoted one is nothing but the reference. */
function relativeAssetRefs(html: string, assets: Iterable<string>): string {
  let out = html;
  for (const path of assets) out = out.replaceAll(`"${path}"`, `".${path}"`);
  return out;
}

async function fromEmbedded(files: NonNullable<typeof page.files>): Promise<AssetTable> {
  const table = new Map<string, Asset>(files.map((f) => [urlPathOf(f.path), { body: Bun.file(f.path), contentType: f.headers["content-type"], immutable: f.loader !== "html" }]));
  const index = table.get("/");
  if (index) table.set("/", { ...index, body: new Blob([relativeAssetRefs(await index.body.text(), [...table.keys()].filter((p) => p !== "/"))]) });
  return checked(table);
}

// A memo rather than state: the table depends only on the files of this executable or checkout.
let table: Promise<AssetTable> | null = null;

/** The dashboard's files. Rejects (and retries on the next call) if web/ does not bundle. */
export function dashboardAssets(): Promise<AssetTable> {
  table ??= page.files ? fromEmbedded(page.files) : fromSource(page.index);
  table.catch(() => (table = null));
  return table;
}

/** The response for one asset, or null when `path` is not one. */
export async function assetResponse(path: string): Promise<Response | null> {
  const asset = (await dashboardAssets()).get(path);
  if (!asset) return null;
  return new Response(asset.body, {
    headers: {
      "content-type": asset.contentType,
      // Chunk names carry a content hash; the page itself must be re-read after an upgrade.
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    },
  });
}
