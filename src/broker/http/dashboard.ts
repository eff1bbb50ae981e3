// The web dashboard's HTTP surface, mounted by app.ts: the page, sign-in, the member views of one
// mesh, invites, end-to-end topic posts, the live event stream and the operator's broker-wide view. See docs/dashboard.md.
import { Elysia } from "elysia";
import type { BrokerContext } from "../context.ts";
import type { Dashboard } from "../dashboard-state.ts";
import { dashboardChatRoutes } from "./dashboard-chat.ts";
import { dashboardEventRoutes } from "./dashboard-events.ts";
import { dashboardInviteRoutes } from "./dashboard-invites.ts";
import { dashboardMeshRoutes } from "./dashboard-mesh.ts";
import { dashboardOperatorRoutes } from "./dashboard-operator.ts";
import { dashboardPageRoutes } from "./dashboard-page.ts";
import { dashboardSessionRoutes } from "./dashboard-session.ts";

export function dashboardRoutes(ctx: BrokerContext, dash: Dashboard) {
  return new Elysia({ name: "dashboard" })
    .use(dashboardSessionRoutes(ctx, dash))
    .use(dashboardMeshRoutes(ctx, dash))
    .use(dashboardInviteRoutes(ctx, dash))
    .use(dashboardChatRoutes(ctx, dash))
    .use(dashboardEventRoutes(ctx, dash))
    .use(dashboardOperatorRoutes(ctx, dash))
    .use(dashboardPageRoutes());
}
