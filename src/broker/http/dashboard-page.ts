// The dashboard page and its bundled files, at / and /<chunk>. The page is the same for everyone;
// what it shows comes from the /v1/dashboard routes, which check the session.
import { Elysia } from "elysia";
import { MeshError } from "../../protocol/errors.ts";
import { assetResponse } from "../dashboard-assets.ts";

export function dashboardPageRoutes() {
  const serve = async (path: string) => {
    const res = await assetResponse(path);
    if (!res) throw new MeshError("not_found", "No such route.");
    return res;
  };
  return new Elysia({ name: "dashboard-page" })
    .get("/", () => serve("/"), { detail: { hide: true } })
    // The browser form of invite links (<broker>/join#<invite>) opens the page, which shows the
    // join command; the fragment with the invite secret never reaches us.
    .get("/join", () => serve("/"), { detail: { hide: true } })
    .get("/:file", ({ params }) => serve(`/${params.file}`), { detail: { hide: true } });
}
