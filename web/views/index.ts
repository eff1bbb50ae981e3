// The tabs, in order.
import { audit } from "./audit.ts";
import { charts } from "./charts.ts";
import { chat } from "./chat.ts";
import { grants } from "./grants.ts";
import { invites } from "./invites.ts";
import { operator } from "./operator.ts";
import { overview } from "./overview.ts";
import { topics } from "./topics.ts";
import type { View } from "./view.ts";

export const VIEWS: readonly View[] = [overview, chat, topics, invites, grants, audit, charts, operator];
